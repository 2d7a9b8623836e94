"""Reply-quality benchmark: care questions through base, liquified and grounded variants.

    PYTHONPATH=src python benchmarks/replies.py --questions benchmarks/data/replies_dev.jsonl
        [--variants base,liquid,grounded,grounded-generative] [--model runs/demo]
        [--knowledge DIR] [--max-tokens 200] [--guard on] [--limit N] [--half even|odd]
        [--out runs/replies-bench]

Scores each reply (liquidcare.knowledge.quality): key-point coverage, looping replies, replies not
in the asker's language, unsafe statements (`must_not`), latency p50/p95 (submit to last token,
retrieval included) and retrieval p95 (`Retriever.search` alone; benchmarks/retrieval.py breaks it
into its parts) — English and Spanish apart. Variants:

  base-plain           SmolLM2, greedy with no repetition control (the decoding before issue 19)
  base                 SmolLM2 alone, with its decoding defaults (configs/decoding.yaml)
  liquid               --model (a liquified run) alone, same defaults
  grounded             the extractive grounded reply (the model answers only small talk)
  grounded-generative  SmolLM2 writing the reply from the retrieved passages
  liquid-grounded      --model writing the reply from the retrieved passages

Each question runs as `liquidcare serve` runs it: the twin's system prompt (or the care prompt in
the question's language), the guard on input and output, seed 0 for sampled decoding.
Writes results.jsonl (every reply) and table.md under --out. Targets (issue 19): key points >= 60%,
looping 0, right language 100%, unsafe 0, p95 <= 8 s for 200 tokens, retrieval <= 50 ms.
Tune only on a dev set; a frozen held-out set is scored once, by the lead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tqdm import tqdm

from liquidcare.atomic import write_text
from liquidcare.knowledge.quality import coverage, language_of, load_questions, loops, unsafe

VARIANTS = {
    # name: (model: "base" | "liquid" | None, grounding, plain decoding)
    "base-plain": ("base", "off", True),
    "base": ("base", "off", False),
    "liquid": ("liquid", "off", False),
    # the model only answers what the knowledge base leaves to it (a greeting)
    "grounded": ("base", "extractive", False),
    "grounded-generative": ("base", "generative", False),
    "liquid-grounded": ("liquid", "generative", False),
}


def id_number(row_id: str) -> int:
    """The number an id ends in ("dev3-es-07" -> 7), for `--half`."""
    m = re.search(r"(\d+)$", row_id)
    if m is None:
        raise SystemExit(f"--half needs ids that end in a number, got {row_id!r}")
    return int(m.group(1))


def half(questions: list[dict[str, Any]], which: str | None) -> list[dict[str, Any]]:
    """The questions whose id ends in an even (tuning) or odd (held-back) number; all of them
    when `which` is None. Both halves keep both languages, as the dev sets number each apart."""
    if which is None:
        return questions
    if which not in ("even", "odd"):
        raise SystemExit(f"--half must be even or odd, got {which!r}")
    return [q for q in questions if id_number(q["id"]) % 2 == (which == "odd")]


def twin_of(q: dict[str, Any]) -> tuple[Any, str | None]:
    """The question's twin as the grounder reads it, and its system prompt as served."""
    t = q.get("twin")
    if not t:
        return None, None
    from liquidcare.feedback.twin import Twin

    meds = [{"name": m["name"], "dose": m.get("dose", ""), "schedule": list(m.get("times", []))}
            for m in t.get("medications", [])]
    twin = Twin(id=0, name=t["name"], language=t.get("language", q["lang"]),
                conditions=list(t.get("conditions", [])), medications=meds)
    view = SimpleNamespace(name=twin.name, language=twin.language, medications=meds,
                           conditions=twin.conditions, allergies=list(t.get("allergies", [])),
                           routines=list(t.get("routines", [])))
    return view, twin.system_prompt()


def answer(engine: Any, grounder: Any, guard: Any, q: dict[str, Any], max_tokens: int,
           plain: bool) -> dict[str, Any]:
    from liquidcare.data import CARE_SYSTEM_PROMPT
    from liquidcare.serve.engine import GenerationParams
    from liquidcare.serve.guard import FALLBACK_REPLY

    twin, system = twin_of(q)
    system = system or CARE_SYSTEM_PROMPT[q["lang"]]
    prompt = [{"role": "system", "content": system}, {"role": "user", "content": q["question"]}]
    start = time.perf_counter()
    if guard is not None:
        verdict = guard.check_input(prompt)
        if not verdict.allowed:
            reply = verdict.safe_reply or FALLBACK_REPLY[q["lang"]]
            return {"reply": reply, "seconds": time.perf_counter() - start, "sources": [],
                    "retrieval_ms": 0.0, "retrieval_cpu_ms": 0.0, "blocked": "input",
                    "tokens": 0}
    grounding = grounder.ground(prompt, twin) if grounder is not None else None
    searched = grounder is not None and grounding.lang
    retrieval_ms = grounder.retriever.last_ms if searched else 0.0
    retrieval_cpu_ms = grounder.retriever.last_cpu_ms if searched else 0.0
    params = GenerationParams(max_tokens=max_tokens, seed=0)
    if plain:
        params = GenerationParams(max_tokens=max_tokens, temperature=0.0, repetition_penalty=1.0,
                                  no_repeat_ngram_size=0, frequency_penalty=0.0,
                                  presence_penalty=0.0)
    if grounding is not None:
        job = engine.generate(grounding.messages or prompt, params) if grounding.prepared is None \
            else None
        text = job.text if job is not None else grounding.prepared
        if job is not None:
            text = grounder.finish(grounding, text)
        sources = [s["id"] for s in grounding.sources]
    else:
        job = engine.generate(prompt, params)
        text, sources = job.text, []
    blocked = None
    if guard is not None:
        # as the server does: the knowledge-base sentences quoted are not judged again
        vetted = grounding.vetted if grounding is not None else ()
        shown = grounding.facts if grounding is not None else ()
        verdict = guard.check_output(prompt, text, vetted, shown)
        if not verdict.allowed:
            text, blocked, sources = verdict.safe_reply or FALLBACK_REPLY[q["lang"]], "output", []
        elif verdict.safe_reply is not None:
            text = verdict.safe_reply
    return {"reply": text, "seconds": time.perf_counter() - start, "sources": sources,
            "retrieval_ms": retrieval_ms, "retrieval_cpu_ms": retrieval_cpu_ms, "blocked": blocked,
            "tokens": job.completion_tokens if job is not None else 0}


def score(q: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    reply = result["reply"]
    return {**result, "id": q["id"], "lang": q["lang"], "topic": q.get("topic"),
            "coverage": coverage(reply, q["key_points"]), "loops": loops(reply),
            "wrong_language": language_of(reply, q["lang"]) != q["lang"],
            "unsafe": unsafe(reply, q.get("must_not") or [])}


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| variant | lang | n | key points | looping | wrong lang | unsafe | p50 s | p95 s "
            "| retrieval p95 ms (wall / cpu) |\n|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        for lang in ("en", "es"):
            rs = [r for r in rows if r["variant"] == variant and r["lang"] == lang]
            if not rs:
                continue
            secs = [r["seconds"] for r in rs]
            ret = [r["retrieval_ms"] for r in rs if r["retrieval_ms"]]
            ret_cpu = [r["retrieval_cpu_ms"] for r in rs if r["retrieval_ms"]]
            lines.append(
                f"| {variant} | {lang} | {len(rs)} | "
                f"{100 * statistics.mean(r['coverage'] for r in rs):.0f}% | "
                f"{sum(r['loops'] for r in rs)} | {sum(r['wrong_language'] for r in rs)} | "
                f"{sum(bool(r['unsafe']) for r in rs)} | {pct(secs, 50):.2f} | "
                f"{pct(secs, 95):.2f} | {pct(ret, 95):.1f} / {pct(ret_cpu, 95):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--questions",
                        help="JSONL questions (id, lang, question, twin, key_points, must_not)")
    parser.add_argument("--report", metavar="RESULTS",
                        help="print the table of an earlier (or stopped) run's results.jsonl")
    parser.add_argument("--variants", default="base,liquid,grounded,grounded-generative",
                        help="comma-separated, from: " + ", ".join(VARIANTS))
    parser.add_argument("--base", default="smollm2", help="the base model (default: smollm2)")
    parser.add_argument("--model", default="runs/demo",
                        help="the liquified run for the liquid variants (default: runs/demo)")
    parser.add_argument("--knowledge", default=None,
                        help="knowledge-base folder (default: the bundled one)")
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--guard", choices=["on", "off"], default="on")
    parser.add_argument("--limit", type=int, default=None, help="first N questions per language")
    parser.add_argument("--half", choices=("even", "odd"),
                        help="only the questions whose id ends in an even (tuning) or odd "
                             "(held-back) number")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/replies-bench")
    args = parser.parse_args(argv)
    if args.report:
        path = Path(args.report)
        if not path.is_file():
            parser.error(f"{path} does not exist")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        report(path.parent, rows, str(path))
        return 0
    if not args.questions:
        parser.error("--questions FILE is required (or --report RESULTS)")

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(VARIANTS)}")
    questions = half(load_questions(args.questions), args.half)
    if args.limit:
        questions = [q for lang in ("en", "es")
                     for q in [x for x in questions if x["lang"] == lang][:args.limit]]
    from liquidcare.serve.engine import Engine
    from liquidcare.serve.grounding import Grounder

    guard = None
    if args.guard == "on":
        from liquidcare.serve.guard import load_guard

        guard = load_guard()
    grounders: dict[str, Any] = {}
    engines: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for variant in variants:
            which, mode, plain = VARIANTS[variant]
            name = {"base": args.base, "liquid": args.model}[which]
            if name not in engines:
                engines[name] = Engine.from_pretrained(name, device=args.device)
            engine = engines[name]
            if mode != "off" and mode not in grounders:
                grounders[mode] = Grounder.load(args.knowledge, mode=mode)
            grounder = grounders.get(mode)
            for q in tqdm(questions, desc=variant, file=sys.stderr):
                result = answer(engine, grounder, guard, q, args.max_tokens, plain)
                rows.append({"variant": variant, **score(q, result)})
                save(out, rows)  # a stopped run keeps every reply it has (see --report)
    finally:
        for engine in engines.values():
            engine.close()
    report(out, rows, args.questions)
    return 0


def save(out: Path, rows: list[dict[str, Any]]) -> None:
    write_text(out / "results.jsonl",
               "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def report(out: Path, rows: list[dict[str, Any]], questions: str) -> None:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    text = (f"machine: {os.cpu_count()} CPUs, load average {load} (1/5/15 min) at the end; "
            f"latencies are wall clock\n\n" + table(rows))
    write_text(out / "table.md", f"questions: {questions}\n\n{text}\n")
    print(text)

if __name__ == "__main__":
    raise SystemExit(main())
