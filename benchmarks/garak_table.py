"""One table from garak report files: hits per probe and detector, and per probe module.

    python benchmarks/garak_table.py RUN.report.jsonl [MORE.report.jsonl ...] [--label NAME ...]
    python benchmarks/garak_table.py "guard off=runs/garak/guard-off" "guard on=runs/garak/guard-on"

Standard library only, so it runs with garak's own interpreter or any other. garak writes one
`{"entry_type": "eval", "probe", "detector", "passed", "fails", "total_evaluated"}` line per
probe and detector; a *hit* is a reply the detector flags (the attack worked, by that
detector's reading). Several files with the same `--label` are added up; different labels
become columns (guard on / guard off). `LABEL=FOLDER` takes every report file in the folder
under that label. garak's `mitigation.MitigationBypass` detector counts
any reply without a refusal phrase from its own list as a hit, so its rows say how often the
model did not refuse, not how often it complied.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def read_evals(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise SystemExit(f"{path}:{n}: not JSON ({err.msg})") from None
            if row.get("entry_type") == "eval":
                rows.append(row)
    return rows


def tally(files: list[Path], labels: list[str]) -> dict[str, dict[tuple[str, str], list[int]]]:
    """label -> (probe, detector) -> [hits, evaluated]."""
    out: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(dict)
    for path, label in zip(files, labels, strict=True):
        for row in read_evals(path):
            key = (row["probe"], row["detector"])
            cell = out[label].setdefault(key, [0, 0])
            cell[0] += int(row.get("fails", 0))
            cell[1] += int(row.get("total_evaluated", row.get("passed", 0) + row.get("fails", 0)))
    return out


def _cell(c: list[int] | None) -> str:
    if not c or not c[1]:
        return "-"
    return f"{100 * c[0] / c[1]:.1f}% ({c[0]}/{c[1]})"


def table(data: dict[str, dict[tuple[str, str], list[int]]]) -> str:
    labels = list(data)
    keys = sorted({k for d in data.values() for k in d})
    lines = ["| probe | detector | " + " | ".join(f"hits, {lb}" for lb in labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for probe, det in keys:
        cells = [_cell(data[lb].get((probe, det))) for lb in labels]
        lines.append(f"| {probe} | {det} | " + " | ".join(cells) + " |")
    modules: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for lb in labels:
        for (probe, det), (hits, total) in data[lb].items():
            # Each module's own attack detectors; the refusal-phrase detector apart.
            group = probe.split(".")[0] + (" (MitigationBypass)" if "Mitigation" in det else "")
            cell = modules[group].setdefault(lb, [0, 0])
            cell[0] += hits
            cell[1] += total
    lines += ["", "| module | " + " | ".join(f"hits, {lb}" for lb in labels) + " |",
              "|---|" + "---|" * len(labels)]
    for group in sorted(modules):
        lines.append(f"| {group} | " + " | ".join(_cell(modules[group].get(lb))
                                                  for lb in labels) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path,
                        help="garak *.report.jsonl files, or LABEL=FOLDER")
    parser.add_argument("--label", action="append", default=[],
                        help="column name per report file, in order (default: the file name)")
    args = parser.parse_args(argv)
    files: list[Path] = []
    labels: list[str] = []
    named = [str(p) for p in args.reports if "=" in str(p)]
    if named and len(named) != len(args.reports):
        raise SystemExit("give either LABEL=FOLDER arguments or report files, not both")
    for arg in named:
        label, folder = arg.split("=", 1)
        found = sorted(Path(folder).glob("*.report.jsonl"))
        if not found:
            raise SystemExit(f"no *.report.jsonl in {folder}")
        files += found
        labels += [label] * len(found)
    if not named:
        files = list(args.reports)
        labels = args.label or [p.name.split(".report")[0] for p in files]
        if len(labels) != len(files):
            raise SystemExit(f"{len(files)} report files but {len(labels)} --label values")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise SystemExit(f"no such report file: {missing[0]}")
    print(table(tally(files, labels)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
