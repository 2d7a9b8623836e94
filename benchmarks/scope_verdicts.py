"""Every verdict of the guard and the judge on the dev data, to show a refactor changed none.

    PYTHONPATH=src python benchmarks/scope_verdicts.py --out runs/verdicts-before.json
    PYTHONPATH=src python benchmarks/scope_verdicts.py --out runs/verdicts-after.json \
        --compare runs/verdicts-before.json

Records, keyed by file and row: `Guard().check_input` on every conversation of the safety
data and the dev suites (`turns`, or `text` for the detector sets), `Guard().check_output` on
every dev reply (the judge's dev labels, `output_dev.jsonl`, the care corpus's assistant
turns), `judge_attack` on every labelled dev reply, and `judge_attack` against every goal on
the replies that have no goal (`output_dev.jsonl`, the care corpus), as docs/safety.md counts
them. `--compare` prints each key whose verdict differs and exits 1 when any does;
`--judge-only` skips the guard (its model takes most of the two minutes) and compares the
judge's verdicts alone.
Reads no file under `evals/`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from liquidcare.safety import Guard
from liquidcare.safety.judge import judge_attack, judge_benign

ROOT = Path(__file__).resolve().parents[1]
SAFETY = ROOT / "src/liquidcare/safety/data"
CORPUS = ROOT / "src/liquidcare/data/corpus"
GOALS = ("dose_change", "stop_medication", "lethal_dose", "self_harm", "covert_medication",
         "restraint", "data_leak", "system_leak", "no_emergency")
LABELLED = ("judge_dev_replies.jsonl", "judge_dev2.jsonl", "judge_dev_labels.jsonl",
            "judge_dev3.jsonl", "judge_dev_replies2.jsonl")


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _input_files() -> list[Path]:
    files = sorted(SAFETY.glob("*.jsonl")) + sorted(SAFETY.glob("*/*.jsonl"))
    return [f for f in files if f.name != "output_dev.jsonl"]


def _corpus_turns() -> list[tuple[str, list[dict[str, str]], str]]:
    """(key, messages before, assistant reply) for every assistant turn of the care corpus."""
    out = []
    for path in sorted(CORPUS.glob("care_*.jsonl")):
        for row in _rows(path):
            msgs = row.get("messages") or []
            for i, m in enumerate(msgs):
                if m["role"] == "assistant":
                    out.append((f"{path.name}:{row['id']}:{i}", msgs[:i], m["content"]))
    return out


def record(judge_only: bool = False) -> dict[str, Any]:
    guard = None if judge_only else Guard()
    seen: dict[str, Any] = {}

    def guard_out(key: str, turns: list[str], reply: str) -> None:
        if guard is None:
            return
        msgs = [{"role": "user", "content": t} for t in turns] or [
            {"role": "user", "content": "?"}]
        v = guard.check_output(msgs, reply)
        seen[f"out:{key}"] = [v.allowed, v.category]

    def judge_all_goals(key: str, turns: list[str], reply: str) -> None:
        for goal in GOALS:
            j = judge_attack({"goal": goal, "lang": "en", "turns": turns}, reply)
            seen[f"judge:{key}:{goal}"] = [j.success, j.reason]

    for path in _input_files():
        for n, row in enumerate(_rows(path)):
            key = f"{path.relative_to(SAFETY)}:{row.get('id', n)}"
            if guard is not None and ("turns" in row or "text" in row):
                turns = row.get("turns") or [row["text"]]
                v = guard.check_input([{"role": "user", "content": str(t)} for t in turns])
                seen[f"in:{key}"] = [v.allowed, v.category]
            if path.name in LABELLED and "reply" in row:
                guard_out(key, row.get("turns", []), row["reply"])
                item = {"goal": row["goal"], "lang": row.get("lang", "en"),
                        "turns": row.get("turns", [])}
                j = (judge_attack(item, row["reply"]) if row["goal"] else
                     judge_benign(item, row["reply"]))
                seen[f"judge:{key}"] = [j.success, j.refused, j.reason]
    for row in _rows(SAFETY / "output_dev.jsonl"):
        guard_out(f"output_dev:{row['id']}", [], row["reply"])
        judge_all_goals(f"output_dev:{row['id']}", [], row["reply"])
    for key, before, reply in _corpus_turns():
        turns = [m["content"] for m in before if m["role"] == "user"]
        if guard is not None:
            v = guard.check_output(before or [{"role": "user", "content": "?"}], reply)
            seen[f"out:{key}"] = [v.allowed, v.category]
        judge_all_goals(key, turns, reply)
    return seen


def compare(now: dict[str, Any], before: dict[str, Any], judge_only: bool = False) -> int:
    keys = sorted(k for k in set(now) | set(before) if not judge_only or k.startswith("judge:"))
    diff = [k for k in keys if now.get(k) != before.get(k)]
    for k in diff:
        print(f"{k}: before={before.get(k)} now={now.get(k)}")
    print(f"{len(keys)} verdicts, {len(diff)} differ")
    return 1 if diff else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="where to write the verdicts (JSON)")
    parser.add_argument("--compare", help="verdicts recorded before, to compare against")
    parser.add_argument("--judge-only", action="store_true", help="the judge's verdicts alone")
    args = parser.parse_args(argv)
    now = record(args.judge_only)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(now, indent=0, sort_keys=True), encoding="utf-8")
    if args.compare:
        return compare(now, json.loads(Path(args.compare).read_text(encoding="utf-8")),
                       args.judge_only)
    print(f"{len(now)} verdicts written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
