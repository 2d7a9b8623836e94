"""Splitting the content bank so that held-out documents are made of text train never contains.

Validation and test documents composed from the same bank lines as train would share whole
sentences with it (44% of the old validation split's sentences were in train): a model that
memorises train scores well on them without generalising. So the bank itself is partitioned:

- **scenarios**: one of each (language, topic)'s scenarios (drawn with the seed) is held out, with
  all its openings, tips and follow-ups; train composes its dialogues from the others;
- **note lines** (titles, guidance, checklist items, log lines, actions) and **shared lines**
  (people, carers' relations, system prompts, greetings, acknowledgements, goodbyes): every third
  line of a list is held out, within groups that must keep one of each kind (a person's tags, a
  relation's gender, age band and family/paid kind), so that every scenario still finds someone
  who fits;
- what still coincides (a line that is alone of its kind, a short phrase that the two halves
  both happen to build) is caught by `overlapping`, and the build drops those train documents.

The held-out half feeds two splits with nothing in common but shared lines: the topics alternate
between validation and test (`heldout_split`), so tuning on validation never sees a test
situation either.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from liquidcare.data.corpus.bank import BankError, TopicBank
from liquidcare.data.ngrams import ngrams
from liquidcare.data.records import TOPICS

HELD_EVERY = 3  # line j of a group is held out when j % HELD_EVERY == HELD_EVERY - 1


def _held_indices(size: int) -> set[int]:
    """Which of a group's ``size`` lines are held out: every third one, at least one of a group
    of two or more, none of a group of one (it has to serve both halves)."""
    held = {j for j in range(size) if j % HELD_EVERY == HELD_EVERY - 1}
    return held or ({size - 1} if size >= 2 else set())


def split_lines(lines: list[str], held: bool,
                group: Callable[[str], object] = lambda line: None) -> list[str]:
    """The lines of one half: held-out (``held``) or train, partitioned within each ``group``
    (lines with the same key), in their original order."""
    groups: dict[object, list[int]] = {}
    for i, line in enumerate(lines):
        groups.setdefault(group(line), []).append(i)
    keep = set()
    for members in groups.values():
        out = _held_indices(len(members))
        keep |= {i for j, i in enumerate(members) if (j in out) == held or len(members) == 1}
    return [line for i, line in enumerate(lines) if i in keep]


def _fields(line: str) -> list[str]:
    return [p.strip() for p in line.split("|")]


def _person_group(line: str) -> object:
    f = _fields(line)  # gender | name | age | cond | where [| tags]
    return f[5] if len(f) > 5 else ""


def _rel_group(line: str) -> object:
    return tuple(_fields(line)[:3])  # gender | ages | family/pro


GROUPS: dict[str, Callable[[str], object]] = {"person": _person_group, "rel": _rel_group}


def split_common(common: dict[str, list[str]], held: bool) -> dict[str, list[str]]:
    """One half of a language's shared lines."""
    return {key: split_lines(lines, held, GROUPS.get(key, lambda line: None))
            for key, lines in common.items()}


def held_scenario(bank: TopicBank, seed: str) -> int:
    """Index of the scenario of ``bank`` that is held out (drawn, not always the last)."""
    if len(bank.scenarios) < 2:
        raise BankError(f"bank/{bank.lang}/{bank.topic}.txt: needs two scenarios to hold one out")
    return random.Random(f"{seed}/holdout/{bank.lang}/{bank.topic}").randrange(
        len(bank.scenarios))


def split_topic(bank: TopicBank, held: bool, seed: str) -> TopicBank:
    """One half of a topic's bank: the held-out scenario or the others, and its note lines."""
    h = held_scenario(bank, seed)
    scenarios = [sc for i, sc in enumerate(bank.scenarios) if (i == h) == held]
    notes = {key: split_lines(lines, held) for key, lines in bank.notes.items()}
    return replace(bank, scenarios=scenarios, notes=notes)


def heldout_split(topic: str) -> str:
    """Which held-out split a topic's held-out documents go to: the topics alternate."""
    return "validation" if TOPICS.index(topic) % 2 == 0 else "test"


def overlapping(train_texts: dict[str, str], heldout_texts: list[str]) -> list[str]:
    """Ids of the train documents (id -> text) that share a word 8-gram with any held-out text."""
    held = set()
    for text in heldout_texts:
        held |= ngrams(text)
    return [doc_id for doc_id, text in train_texts.items() if ngrams(text) & held]
