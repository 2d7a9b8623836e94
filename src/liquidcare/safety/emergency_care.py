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
`NOT_ORDINARY`: session 13 read every line of every source as a nurse would and listed each
live emergency and each case for a clinician today, whether or not the lexicon has words for
it (`data/care_audit.jsonl` says why for each).
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
    # session 13: written apart by a writer who read only the datasheet, no emergencies by
    # design (the audit below found none; its questions about when to ring 999 are ordinary)
    (DATA / "care_messages3.jsonl", "text"),
)
# file:line (0-based) of every message of SOURCES that an experienced UK / Spanish nurse reads
# as not ordinary (session 13 audit, all lines of all sources read; the why of each is in
# data/care_audit.jsonl, which a test keeps equal to this set): "live" (999 / 112 now) or
# "urgent" (a clinician today). Labelled `none`, they would teach the classifier to miss
# emergencies. The sources are conversations one user turn a line, so a later turn of an
# emergency ("Should I cancel the ambulance?", "I'm scared.") goes with it. Questions *about*
# emergencies ("when should I ring 999?") and settled or long-standing matters stay ordinary.
NOT_ORDINARY = frozenset({
    # live: heart attack signs (chest pressure or pain, to the arm, sweating, nausea, breathless),
    # and later turns that wave them off or think of driving to A&E
    "detector_care_negatives.jsonl:140", "detector_care_negatives.jsonl:141",
    "detector_care_negatives.jsonl:145", "detector_care_negatives.jsonl:146",
    "detector_care_negatives.jsonl:151", "detector_care_negatives.jsonl:340",
    "detector_care_negatives.jsonl:341", "detector_care_negatives.jsonl:342",
    "detector_care_negatives.jsonl:351", "replies_dev2.jsonl:58", "replies_dev2.jsonl:127",
    # live: stroke signs (face, arm, speech), even when they seem to pass, and later turns about
    # aspirin or cancelling the ambulance
    "detector_care_negatives.jsonl:153", "detector_care_negatives.jsonl:154",
    "detector_care_negatives.jsonl:155", "detector_care_negatives.jsonl:159",
    "detector_care_negatives.jsonl:162", "detector_care_negatives.jsonl:355",
    "detector_care_negatives.jsonl:356", "detector_care_negatives.jsonl:357",
    "detector_care_negatives.jsonl:362", "detector_care_negatives.jsonl:367",
    "replies_dev_long.jsonl:18", "replies_dev_long.jsonl:46", "replies_dev3.jsonl:33",
    "replies_dev3.jsonl:73",
    # live: severe breathlessness (inhaler not helping, odd lips: possible anaphylaxis, pain on
    # breathing) and later turns of those conversations
    "detector_care_negatives.jsonl:156", "detector_care_negatives.jsonl:157",
    "detector_care_negatives.jsonl:160", "detector_care_negatives.jsonl:163",
    "detector_care_negatives.jsonl:358", "detector_care_negatives.jsonl:359",
    "detector_care_negatives.jsonl:363", "detector_care_negatives.jsonl:364",
    "detector_care_negatives.jsonl:368",
    # live: a fall with a head injury, or on the floor now and unable to get up (a long lie
    # starting), and later turns (cannot reach the phone, would rather lie down)
    "detector_care_negatives.jsonl:31", "detector_care_negatives.jsonl:32",
    "detector_care_negatives.jsonl:36", "detector_care_negatives.jsonl:42",
    "detector_care_negatives.jsonl:43", "detector_care_negatives.jsonl:220",
    "detector_care_negatives.jsonl:223", "detector_care_negatives.jsonl:231",
    "detector_care_negatives.jsonl:232", "detector_care_negatives.jsonl:233",
    "replies_dev2.jsonl:21", "replies_dev2.jsonl:23", "replies_dev2.jsonl:90",
    "replies_dev2.jsonl:92", "replies_dev_long.jsonl:4", "replies_dev_long.jsonl:32",
    "replies_dev3.jsonl:52",
    # live: a person with dementia missing now
    "detector_care_negatives.jsonl:51", "detector_care_negatives.jsonl:58",
    "detector_care_negatives.jsonl:240", "detector_care_negatives.jsonl:249",
    "detector_care_negatives.jsonl:250",
    # live: a suicidal plan (sleeping tablets saved up)
    "detector_care_negatives.jsonl:80", "detector_care_negatives.jsonl:277",
    # live: a hypo with confusion (sweaty, shaky, talking oddly, low reading)
    "replies_dev_long.jsonl:6", "replies_dev_long.jsonl:34", "replies_dev3.jsonl:23",
    "replies_dev3.jsonl:63",
    # urgent: sudden or fast new confusion, drowsiness or hallucination (delirium: infection,
    # dehydration), and later turns that would wait for a later appointment
    "detector_care_negatives.jsonl:17", "detector_care_negatives.jsonl:18",
    "detector_care_negatives.jsonl:28", "detector_care_negatives.jsonl:29",
    "detector_care_negatives.jsonl:212", "detector_care_negatives.jsonl:213",
    "detector_care_negatives.jsonl:214", "detector_care_negatives.jsonl:216",
    "detector_care_negatives.jsonl:219", "replies_dev.jsonl:8", "replies_dev.jsonl:28",
    "replies_dev2.jsonl:0", "replies_dev2.jsonl:69", "replies_dev_long.jsonl:0",
    "replies_dev_long.jsonl:7", "replies_dev_long.jsonl:28", "replies_dev_long.jsonl:35",
    "replies_dev_long.jsonl:54", "replies_dev3.jsonl:24", "replies_dev3.jsonl:64",
    # urgent: suicidal thoughts or a wish to be dead without a stated plan, and later turns
    "detector_care_negatives.jsonl:74", "detector_care_negatives.jsonl:75",
    "detector_care_negatives.jsonl:76", "detector_care_negatives.jsonl:270",
    "detector_care_negatives.jsonl:271", "detector_care_negatives.jsonl:272",
    "detector_care_negatives.jsonl:280", "replies_dev2.jsonl:48", "replies_dev2.jsonl:117",
    "replies_dev3.jsonl:29", "replies_dev3.jsonl:69",
    # urgent: a chest infection with faster or harder breathing; a red, hot, swollen leg
    # (cellulitis or a clot), spreading or with a temperature
    "replies_dev2.jsonl:41", "replies_dev2.jsonl:42", "replies_dev2.jsonl:110",
    "replies_dev2.jsonl:111", "replies_dev3.jsonl:25", "replies_dev3.jsonl:26",
    "replies_dev3.jsonl:65", "replies_dev3.jsonl:66",
    # urgent: sugar and medicines today: a hypo without confusion, very high sugar with thirst,
    # vomiting on insulin, a double dose taken by mistake
    "replies_dev2.jsonl:4", "replies_dev2.jsonl:9", "replies_dev2.jsonl:37",
    "replies_dev2.jsonl:39", "replies_dev2.jsonl:73", "replies_dev2.jsonl:78",
    "replies_dev2.jsonl:106", "replies_dev2.jsonl:108",
    # urgent: new pain and refusal to walk in advanced dementia (a fracture until shown otherwise)
    "replies_dev_long.jsonl:13", "replies_dev_long.jsonl:41",
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
