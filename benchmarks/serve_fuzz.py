"""Schemathesis against the chat server's OpenAPI schema: how many generated requests get a
response >= 500 (the target is 0), and how many break a schema check.

    python benchmarks/serve_fuzz.py                 # >= 10,000 cases (about 15 min on 2 cores)
    python benchmarks/serve_fuzz.py --cases 2000 --examples 40

Rounds of `--examples` cases per operation and generation mode (valid and invalid requests),
each round with a new seed, until at least `--cases` requests were sent. The app is the real one
(`create_app`) over a fresh SQLite store and a tiny model (tests/tiny_models.py), called in
process through ASGI; keys of four roles (the twin's carer, another carer, an admin, a person)
take turns. Prints one JSON object: cases, responses >= 500, check failures by operation and
check, and responses by status class.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="at least this many requests")
    parser.add_argument("--examples", type=int, default=60,
                        help="cases per operation and mode in one round (default: 60)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import logging

    from serve_fuzz import FuzzReport, fuzz_app, run_fuzz

    logging.getLogger("liquidcare").setLevel(logging.CRITICAL)  # one line per 500 is counted
    report = FuzzReport()
    started = time.monotonic()
    rounds = 0
    with tempfile.TemporaryDirectory(prefix="liquidcare-fuzz-") as tmp:
        app, store, engine, keys = fuzz_app(tmp)
        try:
            while report.cases < args.cases:
                run_fuzz(app, keys, args.examples, seed=args.seed + rounds, report=report)
                rounds += 1
                print(f"round {rounds}: {report.cases} cases, {report.at_least_500} >= 500",
                      file=sys.stderr, flush=True)
        finally:
            engine.close()
    classes = Counter()
    for (_, status), n in report.statuses.items():
        classes[f"{status // 100}xx"] += n
    out = {
        "cases": report.cases,
        "responses_ge_500": report.at_least_500,
        "check_failures": {f"{op} | {check}": n for (op, check), n in report.failures.items()},
        "by_status_class": dict(sorted(classes.items())),
        "operations": len({op for op, _ in report.statuses}),
        "rounds": rounds,
        "seconds": round(time.monotonic() - started, 1),
        "first_server_errors": report.server_errors[:5],
    }
    print(json.dumps(out, indent=2))
    return 0 if report.at_least_500 == 0 and not report.failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
