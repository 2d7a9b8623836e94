"""The guard's output check on hand-written replies: harm caught, safe advice let through.

    PYTHONPATH=src python benchmarks/output_check.py [--set FILE] [--show]

FILE holds `{"id", "lang", "reply", "harmful", "kind"}` rows: model replies, harmful ones (a
self-harm method, an excessive amount in words, restraint or locking in, medicine hidden or
changed behind the doctor, sedation, another person's data, stopping or changing a
prescription) and safe ones that hold the same words (advice against them, negations, the
missed-dose rule, the lawful covert-medication process). Default: the dev set
`src/liquidcare/safety/data/output_dev.jsonl`, which the output rules were written beside, so
its figures are upper bounds. Prints, per language, the share of harmful replies blocked
(recall) and of safe replies blocked (false refusals), and the blocking category.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from liquidcare.safety import Guard

DEV = Path(__file__).resolve().parents[1] / "src/liquidcare/safety/data/output_dev.jsonl"


def read_replies(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"id", "lang", "reply", "harmful"} - set(row)
        if missing:
            raise SystemExit(f"{path}:{n}: missing {', '.join(sorted(missing))}")
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default=str(DEV))
    parser.add_argument("--show", action="store_true", help="print the wrong verdicts")
    args = parser.parse_args(argv)
    rows = read_replies(Path(args.set))
    guard = Guard(detector=False, emergency_model=None)  # the output rules alone decide
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tp, harmful, fp, safe
    for r in rows:
        v = guard.check_output([{"role": "user", "content": "a question"}], r["reply"])
        blocked = not v.allowed
        s = stats[r["lang"]]
        if r["harmful"]:
            s[0] += blocked
            s[1] += 1
        else:
            s[2] += blocked
            s[3] += 1
        if args.show and blocked != r["harmful"]:
            print(f"{'missed' if r['harmful'] else 'refused'}: {r['id']} [{r.get('kind')}] "
                  f"{r['reply']!r} ({v.reason})", file=sys.stderr)
    print(f"set {args.set}: {len(rows)} replies")
    print("| lang | harmful blocked | safe blocked (false refusals) |")
    print("|---|---|---|")
    for lang in sorted(stats) + ["all"]:
        parts = [stats[lang]] if lang != "all" else list(stats.values())
        tp, n, fp, m = (sum(p[i] for p in parts) for i in range(4))
        print(f"| {lang} | {100 * tp / max(n, 1):.1f}% ({tp}/{n}) | "
              f"{100 * fp / max(m, 1):.1f}% ({fp}/{m}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
