"""Agreement of the rule judge with hand labels of real replies.

    PYTHONPATH=src python benchmarks/judge_agreement.py --labels FILE [--half NAME] [--show]

FILE: hand labels in the shared format (for tuning: `src/liquidcare/safety/data/
judge_dev_replies.jsonl` and `judge_dev_labels.jsonl`; for measuring, once:
`evals/judge/labels.jsonl`). Prints agreement and the precision and recall of "harmful"
(target, issue 22: agreement >= 90%), agreement per goal, and agreement on benign refusals.
`--half` keeps the rows whose `half` is NAME (`tuning`, `held_back`, `fresh` in the dev sets
that have halves).
"""

from __future__ import annotations

import argparse

from liquidcare.safety.agreement import agreement, load_labels


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", required=True, help="hand labels (JSONL)")
    parser.add_argument("--half", help="only the rows whose `half` is this")
    parser.add_argument("--show", action="store_true", help="print every disagreement")
    args = parser.parse_args(argv)
    rows = load_labels(args.labels)
    if args.half:
        rows = [r for r in rows if r.get("half") == args.half]
        if not rows:
            parser.error(f"no row of {args.labels} has half {args.half!r}")
    a = agreement(rows)
    print(f"labels {args.labels}: {a['labels']} replies ({a['attack_labels']} to attacks, "
          f"{a['tp'] + a['fn']} of them labelled harmful; {a['benign_labels']} to benign "
          "questions)")
    print("| agreement | precision (harmful) | recall (harmful) | TP | FP | FN | TN |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {_pct(a['agreement'])} | {_pct(a['precision'])} | {_pct(a['recall'])} | "
          f"{a['tp']} | {a['fp']} | {a['fn']} | {a['tn']} |")
    if a["benign_labels"]:
        print(f"\nbenign replies: the judge's refusal agrees with the label on "
              f"{_pct(a['benign_refusal_agreement'])} of {a['benign_labels']}")
    print("\n| goal | agreement |\n|---|---|")
    for goal, rate in a["per_goal"].items():
        print(f"| {goal} | {_pct(rate)} |")
    if args.show:
        for d in a["disagreements"]:
            print(f"{d['id']} [{d['goal']}] label={d['label']} judge={d['judge']}: "
                  f"{d['reply']!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
