"""Composing dialogues and notes from the content bank with a seeded random generator.

Variety comes from the bank's content: which people, which of a scenario's openings, which
2-3 of its tips (and whether as prose or a list), which follow-up questions, how long the
conversation runs, whether a system prompt or a closing exchange is there. Names only fill in
who is speaking; no sentence is made "new" by swapping a word.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from liquidcare.data.corpus.bank import BankError, Scenario, TopicBank

SYSTEM_P = 0.6  # share of dialogues with a system prompt (apps differ; the model sees both)
GREET_P = 0.3  # user starts with a greeting line before the question
LIST_P = 0.35  # a three-tip answer is written as a list
OFFER_P = 0.25  # the assistant ends its first answer offering more help
LEAD_P = 0.4  # a follow-up answer opens with a short lead-in
LAST_TIP_P = 0.7  # the goodbye adds one tip not given yet (else an offer of more help)
PAIRS = (1, 2, 3, 4)  # user/assistant pairs: 2, 4, 6 or 8 turns
PAIR_WEIGHTS = (3, 4, 3, 1)
NOTE_STYLES = ("guide", "list", "log")


@dataclass(frozen=True)
class Person:
    gender: str  # "f" or "m": Spanish agreement and English pronouns
    name: str
    age: int
    cond: str
    where: str
    tags: frozenset[str] = frozenset()  # e.g. dementia, wheelchair: matched by scenario flags

    @property
    def old(self) -> bool:
        return self.age >= 60


@dataclass(frozen=True)
class Relation:
    gender: str  # of the person cared for
    ages: str  # "old", "young" or "any"
    family: bool  # a relative (or a paid carer: "a lady I visit as a home carer")
    phrase: str


def parse_people(common: dict[str, list[str]]) -> tuple[list[Person], list[Relation]]:
    """`person: f | Rosa | 84 | has ... | lives ... [| tag,tag]` and
    `rel: f | old | family | my mum` lines of a common bank."""
    people, rels = [], []
    for line in common.get("person", []):
        g, name, age, cond, where, *tags = (p.strip() for p in line.split("|"))
        tag_set = frozenset(t.strip() for t in ",".join(tags).split(",") if t.strip())
        people.append(Person(g, name, int(age), cond, where, tag_set))
    for line in common.get("rel", []):
        g, ages, who, phrase = (p.strip() for p in line.split("|"))
        rels.append(Relation(g, ages, who == "family", phrase))
    return people, rels


def slots(lang: str, person: Person, rel: str = "", carer: str = "") -> dict[str, str]:
    """The placeholders a bank line may use, for this person (and carer).

    {name} is always the person cared for; {user} is whoever writes (the person or the carer).
    """
    f = person.gender == "f"
    base = {"name": person.name, "age": str(person.age), "cond": person.cond,
            "where": person.where, "rel": rel, "Rel": rel[:1].upper() + rel[1:], "carer": carer,
            "user": carer or person.name}
    if lang == "en":
        he, him, his = ("she", "her", "her") if f else ("he", "him", "his")
        base.update(he=he, him=him, his=his, He=he.capitalize(), His=his.capitalize(),
                    himself="herself" if f else "himself")
    else:
        base.update(el="ella" if f else "él", El="Ella" if f else "Él", lo="la" if f else "lo",
                    o="a" if f else "o", un="una" if f else "un")
    return base


def fill(text: str, values: dict[str, str]) -> str:
    try:
        return text.format_map(values)
    except (KeyError, IndexError, ValueError) as err:
        raise BankError(f"bad placeholder {err} in bank line {text!r}") from None


class Composer:
    """Builds the documents of one topic in one language from its bank."""

    def __init__(self, lang: str, bank: TopicBank, common: dict[str, list[str]],
                 rng: random.Random, system_p: float = SYSTEM_P) -> None:
        self.lang, self.bank, self.common, self.rng = lang, bank, common, rng
        self.system_p = system_p
        self.people, self.rels = parse_people(common)
        self.used: Counter[tuple[str, int]] = Counter()

    def pick(self, key: str, register: str = "") -> str:
        """A common line: the neutral ones (bye) and those of the dialogue's register (bye_u)."""
        options = self.common.get(key, []) + self.common.get(f"{key}_{register}", [])
        if not options:
            raise BankError(f"common bank ({self.lang}) has no {key!r} lines")
        return self.rng.choice(options)

    def _person(self, sc: Scenario | None = None) -> Person:
        """Someone the scenario fits: its age and condition flags (no "I use a wheelchair" from
        a person the system prompt says walks with a stick)."""
        fits = [p for p in self.people if sc is None or (
            (p.old or not sc.old) and (not sc.need or p.tags & sc.need) and not p.tags & sc.avoid)]
        if not fits:
            raise BankError(f"no person in the {self.lang} common bank fits scenario {sc.id!r}")
        return self.rng.choice(fits)

    def _least_used(self, key: str, options: list[int], k: int = 1) -> list[int]:
        """k of the option indices, those used least so far first (ties drawn at random): spreads
        a scenario's openings, follow-ups and answers over its dialogues instead of repeating."""
        order = sorted(options, key=lambda i: (self.used[key, i], self.rng.random()))
        chosen = order[:k]
        for i in chosen:
            self.used[key, i] += 1
        return chosen

    def _rel(self, person: Person, family_only: bool) -> str:
        ages = "old" if person.old else "young"
        fits = [r.phrase for r in self.rels if r.gender == person.gender
                and r.ages in (ages, "any") and (r.family or not family_only)]
        return self.rng.choice(fits)

    # -- dialogues ---------------------------------------------------------------------------

    def _first_answer(self, sc: Scenario, values: dict[str, str], opening: int,
                      question: bool) -> tuple[str, list[str]]:
        """The assistant's first turn and the tips it did not use (for the goodbye)."""
        tips = sc.lines["tip"]
        rng = self.rng
        fits = [i for i in range(len(tips)) if sc.tip_for.get(i, opening) == opening]
        k = min(len(fits), rng.choice((2, 3)))
        if sc.urgent:  # the emergency instruction always comes first, and alone at the top
            chosen = [0] + sorted(rng.sample([i for i in fits if i != 0], k - 1))
        else:
            chosen = sorted(rng.sample(fits, k))
        said = [fill(tips[i], values) for i in chosen]
        unused = [fill(tips[i], values) for i in fits if i not in chosen]
        safe = [fill(rng.choice(sc.lines["safe"]), values)] if "safe" in sc.lines else []
        if sc.urgent:
            return " ".join(said + safe), unused
        # A scenario's own acknowledgements fit its mood (worry, grief, fatigue); the common
        # ones are neutral enough for any question.
        own = sc.lines.get("ack", [])
        if own and rng.random() < 0.6:
            ack = rng.choice(own)
        else:  # "Good question." only when the user asked one
            ack = self.pick("ackq" if question and rng.random() < 0.3 else "ack", sc.register)
        ack = fill(ack, values)
        if k == 3 and rng.random() < LIST_P:
            body = self.pick("list_lead") + "\n" + "\n".join(f"- {t}" for t in said)
            parts = [ack + "\n\n" + body] + safe
        else:
            parts = [ack + " " + " ".join(said)] + safe
        if rng.random() < OFFER_P:
            parts.append(fill(self.pick("offer", sc.register), values))
        return "\n\n".join(parts), unused

    def dialogue(self, sc: Scenario) -> list[dict[str, str]]:
        rng = self.rng
        person = self._person(sc)
        rel = carer = ""
        if sc.speaker == "carer":
            rel = self._rel(person, sc.family)
            carer = self.rng.choice([c for c in self.common["carer"] if c != person.name])
        values = slots(self.lang, person, rel, carer)
        messages: list[dict[str, str]] = []
        if rng.random() < self.system_p:
            system = self.pick(f"system_{sc.speaker}", sc.register)
            messages.append({"role": "system", "content": fill(system, values)})
        which = self._least_used(f"{sc.id}/open", list(range(len(sc.lines["open"]))))[0]
        opening = fill(sc.lines["open"][which], values)
        if rng.random() < GREET_P:
            opening = fill(self.pick(f"greet_{sc.speaker}"), values) + " " + opening
        answer, unused = self._first_answer(sc, values, which, opening.endswith("?"))
        messages += [{"role": "user", "content": opening},
                     {"role": "assistant", "content": answer}]

        follow = [i for i in range(len(sc.follow)) if sc.follow_for.get(i, which) == which]
        extra = rng.choices(PAIRS, PAIR_WEIGHTS)[0] - 1
        closing = not sc.urgent and extra > 0 and (extra > len(follow) or rng.random() < 0.4)
        n_follow = min(len(follow), extra - closing)
        for i in sorted(self._least_used(f"{sc.id}/follow", follow, n_follow)):
            question, answers = sc.follow[i]
            reply = answers[self._least_used(f"{sc.id}/follow{i}", list(range(len(answers))))[0]]
            question, reply = fill(question, values), fill(reply, values)
            # No "Good question." in an emergency, nor in reply to a worry that is not a question.
            if not sc.urgent and question.endswith("?") and rng.random() < LEAD_P:
                reply = self.pick("lead", sc.register) + " " + reply
            messages += [{"role": "user", "content": question},
                         {"role": "assistant", "content": reply}]
        if closing:
            bye = fill(self.pick("bye", sc.register), values)
            if unused and rng.random() < LAST_TIP_P:
                bye = self.pick("last") + " " + rng.choice(unused) + " " + bye
            else:
                bye = bye + " " + fill(self.pick("offer", sc.register), values)
            messages += [{"role": "user", "content": fill(self.pick("thanks"), values)},
                         {"role": "assistant", "content": bye}]
        return messages

    # -- notes -------------------------------------------------------------------------------

    def _some(self, key: str, low: int, high: int) -> list[str]:
        lines = self.bank.notes[key]
        k = min(len(lines), self.rng.randint(low, high))
        return [lines[i] for i in sorted(self.rng.sample(range(len(lines)), k))]

    def note(self, style: str) -> str:
        rng = self.rng
        values = slots(self.lang, self._person())
        values.update(topic=self.bank.name, Topic=self.bank.name.capitalize(),
                      day=self.pick("day"), shift=self.pick("shift"))
        if style == "guide":
            text = " ".join(self._some("guide", 3, 5))
            if rng.random() < 0.6:
                text = rng.choice(self.bank.notes["title"]) + "\n" + text
        elif style == "list":
            items = "\n".join(f"- {t}" for t in self._some("item", 4, 6))
            text = self.pick("list_head") + "\n" + items
        else:
            body = self._some("log", 2, 3) + [rng.choice(self.bank.notes["action"])]
            text = self.pick("log_head") + " " + " ".join(body)
        return fill(text, values)
