"""`liquidcare redteam`: the jailbreak and over-refusal suite against endpoints or local models."""

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from liquidcare.safety.targets import Target

REDTEAM_HELP = """\
Run a red-team suite (attacks by family, English and Spanish, single- and multi-turn, and
benign carers' questions; --suite picks the shipped one, the held-out one or any folder)
against OpenAI-compatible endpoints (--target) and/or models loaded in this process (--model),
and write report.md, results.jsonl, summary.json and chart.png: attack success rate per
family, false refusals on benign questions, and the guard's latency per message; with
--labels, the rule judge's agreement with hand labels of real replies beside them. Several
--target/--model options and --guard both give a comparison table.
"""


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("redteam", help="measure jailbreak success and false refusals",
                       description=REDTEAM_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", action="append", default=[], metavar="URL",
                   help="an OpenAI-compatible server (base URL, .../v1 or .../chat/completions); "
                        "repeatable")
    p.add_argument("--api-key", help="bearer token for --target")
    p.add_argument("--model-name", default="default",
                   help="the 'model' field sent to --target (default: %(default)s)")
    p.add_argument("--model", action="append", default=[], metavar="NAME|DIR",
                   help="generate in-process: smollm2, a model folder, or a run/adapter folder "
                        "such as runs/demo; repeatable")
    p.add_argument("--guard", choices=["on", "off", "both"],
                   help="apply liquidcare's Guard around the target (default: on for --model, "
                        "off for --target, whose server is expected to guard itself)")
    p.add_argument("--policy", help="guard policy YAML (default: the shipped policy)")
    p.add_argument("--no-detector", action="store_true",
                   help="guard with the rules only, without the learned detector")
    p.add_argument("--out", default="runs/redteam", help="report folder (default: %(default)s)")
    p.add_argument("--suite", default="main", metavar="main|heldout|DIR",
                   help="which prompts: 'main' (the suite the guard's rules were written "
                        "beside), 'heldout' (written apart from the guard, to measure how it "
                        "generalises) or a folder with attacks.jsonl and benign.jsonl "
                        "(default: %(default)s)")
    p.add_argument("--limit", type=int,
                   help="run at most N attacks and N benign questions, spread evenly over "
                        "families and languages")
    p.add_argument("--families", help="comma-separated attack families (add 'benign' to keep "
                                      "the benign questions)")
    p.add_argument("--lang", choices=["en", "es"], help="only one language")
    p.add_argument("--max-new-tokens", type=int, default=48,
                   help="reply length for --model, max_tokens for --target (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="conversations generated together with --model (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="device for --model (default: %(default)s)")
    p.add_argument("--judge-url", help="an OpenAI-compatible endpoint for the LLM judge, which "
                                       "decides the cases the rules cannot")
    p.add_argument("--judge-model", default="default", help="'model' field for --judge-url")
    p.add_argument("--judge-api-key", help="bearer token for --judge-url")
    p.add_argument("--labels", metavar="FILE",
                   help="hand labels of real replies (JSONL, see docs/safety.md): the rule "
                        "judge's agreement, precision and recall on them are reported beside "
                        "the attack success rate")
    p.add_argument("--replies", metavar="DIR",
                   help="keep each target's replies in DIR (one JSON file per target and "
                        "reply length), saved after every batch: a stopped run resumes, and a "
                        "rerun only generates what it has not seen")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_redteam)


def cmd_redteam(args: argparse.Namespace) -> int:
    from pathlib import Path

    from liquidcare.safety import Guard, RedTeamError
    from liquidcare.safety.harness import load_suite, run_suite, suite_folder
    from liquidcare.safety.judge import LLMJudge
    from liquidcare.safety.report import comparison_table, summarise, write_report
    from liquidcare.safety.targets import HTTPTarget, LocalTarget

    if not args.target and not args.model:
        raise RedTeamError("give at least one --target URL or --model NAME")
    if args.limit is not None and args.limit < 1:
        raise RedTeamError(f"--limit must be at least 1, got {args.limit}")
    families = [f.strip() for f in args.families.split(",")] if args.families else None
    judged = None
    if args.labels:  # read first: a bad labels file fails before any model runs
        from liquidcare.safety.agreement import agreement, load_labels

        judged = agreement(load_labels(args.labels))
    attacks, benign = load_suite(args.limit, families, args.lang, suite_folder(args.suite))
    modes = {"on": [True], "off": [False], "both": [False, True]}
    guard = None
    if args.guard in ("on", "both") or (args.guard is None and args.model):
        guard = Guard(args.policy, detector=False if args.no_detector else "auto")
    judge = LLMJudge(args.judge_url, args.judge_model, args.judge_api_key) \
        if args.judge_url else None

    rows = []
    plans = [("target", t) for t in args.target] + [("model", m) for m in args.model]
    for kind, name in plans:
        default = "off" if kind == "target" else "on"
        if kind == "target":
            target = HTTPTarget(name, args.api_key, args.model_name, args.max_new_tokens)
        else:
            target = LocalTarget(name, device=args.device, max_new_tokens=args.max_new_tokens,
                                 batch_size=args.batch_size)
        if args.replies:
            _keep_replies(target, Path(args.replies), args.max_new_tokens)
        try:
            for on in modes[args.guard or default]:
                label = f"{target.name} guard={'on' if on else 'off'}"
                rows += run_suite(target, attacks, benign, guard if on else None, judge,
                                  label=label, progress=not args.quiet)
        finally:
            target.close()
    if judge is not None:
        judge.close()
    meta = {
        "suite": args.suite,
        "attacks": f"{len(attacks)} ({len({a['family'] for a in attacks})} families)",
        "benign questions": len(benign),
        "limit": args.limit, "max_new_tokens": args.max_new_tokens,
        "policy": args.policy or "default",
        "detector": "off" if args.no_detector or guard is None else
        ("on" if guard.detector is not None else "unavailable"),
        "judge": args.judge_url or "rules only",
    }
    if judged is not None:
        meta["judge agreement with hand labels"] = (
            f"{_rate(judged['agreement'])} of {judged['attack_labels']} replies to attacks "
            f"({args.labels}); precision "
            f"{_rate(judged['precision'])}, recall {_rate(judged['recall'])} of 'harmful'")
    report = write_report(rows, Path(args.out), meta)
    print(comparison_table(summarise(rows)))
    if judged is not None:
        print(f"\njudge agreement with hand labels: "
              f"{meta['judge agreement with hand labels']}")
    print(f"\nreport {report}")
    return 0


def _keep_replies(target: "Target", folder: "Path", max_new_tokens: int) -> None:
    """Loads the target's earlier replies from `folder` and saves them there after every
    generation (the cache key is the whole conversation, so any change of prompt or history
    generates anew)."""
    import re

    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.@-]+", "_", target.name)
    path = folder / f"replies-{safe}-{max_new_tokens}.json"
    target.load_replies(path)
    target.autosave = path


def _rate(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"
