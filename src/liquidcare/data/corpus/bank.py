"""Reading the hand-written content bank (bank/<lang>/*.txt) that the care corpus is built from.

The bank is prose, so it lives in plain text files rather than Python strings (no quoting, no
line-length limit). The format is line based:

    # a comment                        @topic hydration          @scenario <id> <self|carer> [flags]
    key: text                          @notes                     @common

Inside a section, `key: text` lines collect into lists per key. In a scenario, a `q:` line (a
follow-up question) is followed by one or more `a:` lines: alternative answers to it, so that
the same question does not always get word-for-word the same reply. A tip or a question that
only fits one of the openings is written `tip@N:` / `q@N:` (N counts the `open:` lines from 1).

Scenario flags: `urgent` (red flag: the answer starts with the emergency instruction, no small
talk), `old` (only people over 60), `family` (the carer is a relative, not a paid carer),
`+tag` (only people with one of these tags, e.g. +dementia), `-tag` (no one with this tag),
`u`/`t` (Spanish register: usted/tú; default usted for the person, tú for a carer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

BANK_KEYS = {
    "scenario": {"open", "ack", "tip", "safe", "q", "a"},
    "notes": {"title", "guide", "item", "log", "action"},
    "topic": {"name"},
}
FLAGS = {"urgent", "old", "family", "u", "t"}


class BankError(ValueError):
    """A malformed bank line; the message names the file and line."""


@dataclass
class Scenario:
    id: str
    speaker: str  # "self": the dependent person writes; "carer": a family or paid carer writes
    urgent: bool = False
    old: bool = False
    family: bool = False
    register: str = ""  # "u" (usted) or "t" (tú); English leaves it empty
    need: frozenset[str] = frozenset()  # the person has at least one of these tags
    avoid: frozenset[str] = frozenset()  # the person has none of these tags
    lines: dict[str, list[str]] = field(default_factory=dict)
    follow: list[tuple[str, list[str]]] = field(default_factory=list)  # question, answers
    tip_for: dict[int, int] = field(default_factory=dict)  # tip index -> its one opening index
    follow_for: dict[int, int] = field(default_factory=dict)  # same for follow-up questions


@dataclass
class TopicBank:
    topic: str
    lang: str
    name: str = ""
    scenarios: list[Scenario] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)


def bank_dir() -> Path:
    return Path(str(resources.files("liquidcare.data.corpus").joinpath("bank")))


def _split_line(line: str, where: str) -> tuple[str, str]:
    key, sep, text = line.partition(":")
    if not sep or not text.strip() or " " in key.strip():
        raise BankError(f"{where}: expected 'key: text', got {line!r}")
    return key.strip(), text.strip()


def read_common(path: Path) -> dict[str, list[str]]:
    """Shared lines of one language: key -> list of texts (persons, greetings, closings...)."""
    lines: dict[str, list[str]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "@common":
            continue
        key, text = _split_line(line, f"{path}:{number}")
        lines.setdefault(key, []).append(text)
    return lines


def _scenario_header(words: list[str], where: str, lang: str) -> Scenario:
    flags = set(words[3:])
    tags = {f for f in flags if f[:1] in "+-" and len(f) > 1}
    if len(words) < 3 or words[2] not in ("self", "carer") or not flags - tags <= FLAGS:
        raise BankError(f"{where}: expected '@scenario <id> <self|carer> [flags]', flags from "
                        f"{sorted(FLAGS)} or +tag/-tag")
    default = "u" if words[2] == "self" else "t"
    register = "t" if "t" in flags else "u" if "u" in flags else default
    return Scenario(words[1], words[2], urgent="urgent" in flags, old="old" in flags,
                    family="family" in flags, register=register if lang == "es" else "",
                    need=frozenset(t[1:] for t in tags if t[0] == "+"),
                    avoid=frozenset(t[1:] for t in tags if t[0] == "-"))


def read_topic(path: Path, lang: str) -> TopicBank:
    """One topic of one language: its scenarios and its note material."""
    bank = TopicBank(topic=path.stem, lang=lang)
    section = previous = ""
    scenario: Scenario | None = None
    question: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path}:{number}"
        if not line or line.startswith("#"):
            continue
        if question is not None and not line.startswith("a:"):
            raise BankError(f"{where}: 'q:' must be followed by its 'a:' line(s)")
        if line.startswith("@"):
            words = line[1:].split()
            section, previous = words[0], ""
            if section == "scenario":
                scenario = _scenario_header(words, where, lang)
                bank.scenarios.append(scenario)
            elif section == "topic" and (len(words) != 2 or words[1] != bank.topic):
                raise BankError(f"{where}: expected '@topic {bank.topic}' (the file's name)")
            elif section not in BANK_KEYS:
                raise BankError(f"{where}: unknown section {line!r}")
            continue
        key, text = _split_line(line, where)
        opening = None
        if section == "scenario" and key.startswith(("tip@", "q@")):
            key, _, number_text = key.partition("@")
            if not number_text.isdigit() or int(number_text) < 1:
                raise BankError(f"{where}: expected '{key}@N:' with N >= 1")
            opening = int(number_text) - 1
        if key not in BANK_KEYS.get(section, set()):
            raise BankError(f"{where}: key {key!r} not allowed in @{section or '(none)'}")
        if section == "topic":
            bank.name = text
        elif section == "notes":
            bank.notes.setdefault(key, []).append(text)
        elif key == "q":
            assert scenario is not None
            if opening is not None:
                scenario.follow_for[len(scenario.follow)] = opening
            question = text
        elif key == "a":
            assert scenario is not None
            if question is not None:
                scenario.follow.append((question, [text]))
                question = None
            elif previous == "a":  # another way of answering the same question
                scenario.follow[-1][1].append(text)
            else:
                raise BankError(f"{where}: 'a:' without a 'q:' before it")
        else:
            assert scenario is not None
            if opening is not None:
                scenario.tip_for[len(scenario.lines.get("tip", []))] = opening
            scenario.lines.setdefault(key, []).append(text)
        previous = key
    if question is not None:
        raise BankError(f"{path}: file ends with a 'q:' without its 'a:'")
    return bank
