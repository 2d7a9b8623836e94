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
    # session 13, replies_dev3's hand urgency labels (`replies_dev3_urgency.jsonl`): hypos with
    # confusion, stroke signs, a fall with no way up (live); sudden confusion, a chest
    # infection with fast breathing, spreading cellulitis (a clinician today)
    "replies_dev3.jsonl:23", "replies_dev3.jsonl:24", "replies_dev3.jsonl:25",
    "replies_dev3.jsonl:26", "replies_dev3.jsonl:33", "replies_dev3.jsonl:52",
    "replies_dev3.jsonl:63", "replies_dev3.jsonl:64", "replies_dev3.jsonl:65",
    "replies_dev3.jsonl:66", "replies_dev3.jsonl:73",
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


# A reply set's hand labels (session 13): the reply sets are everyday questions by their
# datasheets, yet a few describe what needs an ambulance now (a hypo with confusion, a face
# drooping on one side) or a clinician today; escalating those is right, not a false alarm.
URGENCY = ("live", "urgent", "ordinary")


def urgency_path(path: Path) -> Path:
    """Where a question file's urgency labels live: `urgency.jsonl` beside a frozen set's
    `questions.jsonl`, `<stem>_urgency.jsonl` beside any other file."""
    name = "urgency.jsonl" if path.name == "questions.jsonl" else f"{path.stem}_urgency.jsonl"
    return path.with_name(name)


def _urgency_problem(row: object) -> str | None:
    if not isinstance(row, dict) or not isinstance(row.get("id"), str):
        return " must be a JSON object with a string 'id'"
    if row.get("urgency") not in URGENCY:
        return f": urgency must be one of {', '.join(URGENCY)}, got {row.get('urgency')!r}"
    return None


def urgency_labels(path: Path, ids: list[str]) -> dict[str, str] | None:
    """{id: live | urgent | ordinary} from `urgency_path(path)`, or None when there is no
    such file. A label file must name exactly the questions' ids, in their order: labels that
    drifted from their questions would score the wrong rows."""
    labels_path = urgency_path(path)
    if not labels_path.exists():
        return None
    rows = read_jsonl(labels_path, "urgency labels", PolicyError, _urgency_problem)
    got = [r["id"] for r in rows]
    if got != ids:
        extra = sorted(set(got) - set(ids))[:3]
        missing = sorted(set(ids) - set(got))[:3]
        raise PolicyError(f"{labels_path}: the ids do not match {path.name}'s questions in "
                          f"order (unknown {extra}, unlabelled {missing})" if extra or missing
                          else f"{labels_path}: the ids are not in {path.name}'s order")
    return {r["id"]: r["urgency"] for r in rows}


def question_rows(path: Path) -> list[dict]:
    """Every question of a reply-quality question file (`question`, `lang`: the reply
    benchmarks' format) as an emergency-set row. Without urgency labels each is a `none` row
    of kind `care` (the datasheet says everyday questions); with them (`urgency_labels`), a
    `live` question is an `emergency` row (kind `live`), an `urgent` one a `none` row of kind
    `urgent` (counted apart: a clinician today, an ambulance is debatable), an `ordinary` one
    a `none` row of kind `care`: a live escalation there is a carer told to call 999 / 112
    about dry skin or a loud television. Rows keep the file's own ids (`file:line` without
    one)."""
    if not path.exists():
        raise PolicyError(f"care question file {path} does not exist")
    rows = _rows(path, "question", lambda n, key: True, own_ids=True)
    labels = urgency_labels(path, [r["id"] for r in rows])
    for r in rows if labels else []:
        urgency = labels[r["id"]]
        r["label"] = "emergency" if urgency == "live" else "none"
        r["kind"] = {"live": "live", "urgent": "urgent"}.get(urgency, "care")
    return rows
