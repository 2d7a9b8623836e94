"""Ordinary care messages as negatives for the emergency classifier (issue 22, session 10).

The emergency sets' near-misses are written beside emergencies; the messages a care chatbot
mostly sees are plainer ("I haven't slept in months", "she won't drink water"), and session 9's
refit escalated 36 more of them than the shipped weights did. So the training script also
counts these as `none` rows: the red-team suite's benign questions, the jailbreak detector's
care negatives and the care questions of the reply benchmarks. Each source is split by line
number: even lines join the fit and the threshold choice, odd lines are held back as a check
(`benchmarks/guard_verdicts.py` reads all of them).

Some of those messages are emergencies (the detector's care negatives were written to be
harmless *to the jailbreak detector*, and include "a tight pain in my chest going down my
arm"): a row that the symptom lexicon reads as live is left out, and so are the rows listed in
`NOT_ORDINARY`, read by hand as possible emergencies that the lexicon has no words for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import PolicyError
from .jsonl import read_jsonl

DATA = Path(__file__).with_name("data")
BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "data"
# (file, the field that holds the message): `turns` is a list of user turns, the others a text.
SOURCES: tuple[tuple[Path, str], ...] = (
    (DATA / "benign.jsonl", "turns"),
    (DATA / "detector_care_negatives.jsonl", "text"),
    (BENCH / "replies_dev.jsonl", "question"),
    (BENCH / "replies_dev2.jsonl", "question"),
    (BENCH / "replies_dev_long.jsonl", "question"),
    # session 12: written apart from the knowledge base and from our emergency sets
    (BENCH / "replies_dev3.jsonl", "question"),
)
# file:line (0-based) of messages read by hand as possible emergencies: a person with dementia
# gone missing, a sudden confusion with little drink for days, someone who cannot reach the
# phone, chest symptoms waved off as indigestion; and very high sugar with thirst (urgent).
NOT_ORDINARY = frozenset({
    "detector_care_negatives.jsonl:28", "detector_care_negatives.jsonl:51",
    "detector_care_negatives.jsonl:146", "detector_care_negatives.jsonl:216",
    "detector_care_negatives.jsonl:219", "detector_care_negatives.jsonl:233",
    "detector_care_negatives.jsonl:240", "replies_dev2.jsonl:39",
})


def _message(field: str) -> Callable[[object], str | None]:
    def problem(row: object) -> str | None:
        if not isinstance(row, dict):
            return " must be a JSON object"
        value = row.get(field)
        if field == "turns":
            ok = isinstance(value, list) and value and all(isinstance(t, str) for t in value)
        else:
            ok = isinstance(value, str) and value.strip()
        return None if ok else f" needs a non-empty {field!r}"
    return problem


def _rows(path: Path, field: str, keep: Callable[[int, str], bool],
          own_ids: bool = False) -> list[dict]:
    rows = []
    for n, row in enumerate(read_jsonl(path, "care messages", PolicyError, _message(field))):
        key = f"{path.name}:{n}"
        if not keep(n, key):
            continue
        turns = row[field] if field == "turns" else [row[field]]
        rows.append({"id": str(row.get("id", key)) if own_ids else key,
                     "lang": row.get("lang", "en"), "turns": turns, "label": "none",
                     "kind": "care"})
    return rows


def care_rows(half: str, sources: tuple[tuple[Path, str], ...] = SOURCES) -> list[dict]:
    """The ordinary care messages of the `half` ("even" or "odd") lines of each source, as
    emergency-set rows labelled `none` (id `file:line`), the hand-read ones left out. A
    missing benchmark file (an installed package has no `benchmarks/`) is skipped."""
    if half not in ("even", "odd"):
        raise PolicyError(f"care half must be 'even' or 'odd', got {half!r}")
    rows = []
    for path, field in sources:
        if not path.exists() and path.parent == BENCH:
            continue
        rows += _rows(path, field,
                      lambda n, key: n % 2 == (half == "odd") and key not in NOT_ORDINARY)
    return rows


def question_rows(path: Path) -> list[dict]:
    """Every question of a reply-quality question file (`question`, `lang`: the reply
    benchmarks' format) as a `none` row, for sets whose datasheet says that no question is a
    live emergency: a live escalation on one of them is a carer told to call 999 / 112 about
    dry skin or a loud television. Rows keep the file's own ids (`file:line` without one)."""
    if not path.exists():
        raise PolicyError(f"care question file {path} does not exist")
    return _rows(path, "question", lambda n, key: True, own_ids=True)
