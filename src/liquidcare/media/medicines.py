"""Which medicine is on this box, and is it on the person's list?

The text read from a photo is matched against the twin's medications (their own names, plus the
other-language and brand names of the same medicine from `data/medicines.tsv`, so "Furosemide"
on a box matches "Furosemida" on a Spanish list), allowing the few wrong letters a photo gives.
A medicine named on the box but not on the list is flagged: that is the case a carer must see.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache
from importlib import resources
from typing import Any

SIMILARITY = 0.82  # a word this close to a name (OCR slips a letter or two) is that name
# a dose as printed; "my", "mq", "m9" and "rng" are how OCR misreads a blurred "mg"
DOSE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|m[qy9]|rng|mcg|µg|ug|g|ml|ui|iu|%|microgramos|"
                  r"micrograms)(?![a-z])", re.IGNORECASE)
_UNIT = {"microgramos": "mcg", "micrograms": "mcg", "iu": "ui", "µg": "mcg", "ug": "mcg",
         "my": "mg", "mq": "mg", "m9": "mg", "rng": "mg"}


def fold(text: str) -> str:
    """Lower case, accents gone, only letters, digits and single spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@dataclass(frozen=True)
class Medicine:
    english: str
    spanish: str
    aliases: tuple[str, ...]  # folded: every name of it

    def name(self, lang: str) -> str:
        return self.spanish if lang == "es" else self.english


@cache
def lexicon() -> tuple[Medicine, ...]:
    text = resources.files("liquidcare.media").joinpath("data/medicines.tsv").read_text("utf-8")
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = (line.split("\t") + ["", ""])[:3]
        names = [cols[0], cols[1], *[n for n in cols[2].split(",") if n.strip()]]
        out.append(Medicine(cols[0], cols[1], tuple(dict.fromkeys(fold(n) for n in names))))
    return tuple(out)


def find_in_lexicon(name: str) -> Medicine | None:
    """The lexicon's medicine for a name (any language or brand), allowing small slips."""
    folded = fold(name)
    for med in lexicon():
        if folded in med.aliases:
            return med
    scored = [(max(_similarity(folded, a) for a in med.aliases), i)
              for i, med in enumerate(lexicon())]
    score, index = max(scored)
    return lexicon()[index] if score >= SIMILARITY else None


# letters OCR mixes up, folded to one of each pair before comparing (only inside words with a
# letter, so that "40" stays a number): 0/o, 1/l/i, 5/s, "rn"/m
_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s"})


def _shape(word: str) -> str:
    if not any(ch.isalpha() for ch in word):
        return word
    return word.translate(_CONFUSABLE).replace("rn", "m")


def _similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    a, b = _shape(a), _shape(b)
    if a == b:
        return 0.99
    if min(len(a), len(b)) < 5:  # short names must be exact: "sen" is not "seno"
        return 0.0
    return SequenceMatcher(None, a, b).ratio()


def _mentions(text_words: list[str], alias: str) -> tuple[float, int] | None:
    """(how close, where) the best appearance of `alias` (one or more words) in the words is,
    allowing slips; None when nothing is close enough."""
    parts = alias.split()
    n = len(parts)
    best: tuple[float, int] | None = None
    windows = [(" ".join(text_words[i:i + n]), i) for i in range(len(text_words) - n + 1)]
    if n == 1:  # OCR sometimes splits a word: try neighbours joined
        windows += [(text_words[i] + text_words[i + 1], i) for i in range(len(text_words) - 1)]
    for window, i in windows:
        score = _similarity(window, alias)
        if score >= SIMILARITY and (best is None or score > best[0]):
            best = (score, i)
    return best


def _best(words: list[str], aliases: set[str] | tuple[str, ...]) -> tuple[float, int] | None:
    found = [m for alias in aliases if alias and (m := _mentions(words, alias)) is not None]
    return max(found) if found else None


def _dose_numbers(dose: str) -> list[tuple[float, str]]:
    out = []
    for number, unit in DOSE.findall(dose):
        unit = _UNIT.get(unit.lower(), unit.lower())
        out.append((float(number.replace(",", ".")), unit))
    return out


@dataclass
class MedicineMatch:
    """One medicine named in the photo."""

    name_seen: str  # the medicine's name in the reader's language
    on_list: bool
    listed: dict[str, Any] | None = None  # the twin's medication entry when on the list
    doses_seen: list[str] = field(default_factory=list)
    dose_agrees: bool | None = None  # None: no dose on the box or on the list

    def describe(self, lang: str, person: str | None, has_list: bool = True) -> str:
        """One line for the model (and the carer): what this is and whether it is on the list."""
        dose = f" {self.doses_seen[0]}" if self.doses_seen else ""
        es = lang == "es"
        if not self.on_list:
            if not has_list:
                return f"parece {self.name_seen}{dose}" if es else \
                    f"this looks like {self.name_seen}{dose}"
            whose = (f"de {person}" if person else "") if es else \
                (f"{person}'s " if person else "the ")
            return (f"{self.name_seen}{dose} NO está en la lista de medicación {whose}".rstrip()
                    if es else f"{self.name_seen}{dose} is NOT on {whose}medication list")
        entry = self.listed or {}
        times = ", ".join(entry.get("schedule") or [])
        listed = entry.get("name", self.name_seen) + (f" {entry['dose']}" if entry.get("dose")
                                                      else "")
        if es:
            text = f"es {self.name_seen}{dose}: está en la lista" + \
                (f" de {person}" if person else "") + f" ({listed}"
            text += f", a las {times})" if times else ")"
            if self.dose_agrees is False:
                text += f"; OJO: la dosis de la caja ({self.doses_seen[0]}) no es la de la lista"
        else:
            text = f"this is {self.name_seen}{dose}: on " + \
                (f"{person}'s list" if person else "the list") + f" ({listed}"
            text += f", at {times})" if times else ")"
            if self.dose_agrees is False:
                text += f"; CAUTION: the box's dose ({self.doses_seen[0]}) is not the listed one"
        return text


def match_medicines(text: str, medications: list[dict[str, Any]] | None = None,
                    lang: str = "en") -> list[MedicineMatch]:
    """The medicines named in `text`: each twin medication it names (with the dose check), then
    each lexicon medicine it names that is not on the list."""
    words = fold(text).split()
    seen_doses = [_dose_numbers(f"{n} {u}")[0] for n, u in DOSE.findall(text)]
    doses = [f"{n:g} {u}" for n, u in seen_doses]
    matches: list[MedicineMatch] = []
    claimed: set[int] = set()  # word positions already explained by a medicine
    covered: set[str] = set()
    for entry in medications or []:
        name = str(entry.get("name", ""))
        med = find_in_lexicon(name)
        aliases = {fold(name), *(med.aliases if med else ())}
        hit = _best(words, aliases)
        if hit is None:
            continue
        listed = _dose_numbers(str(entry.get("dose", "")))
        agrees = None
        if listed and seen_doses:
            agrees = any(d in seen_doses for d in listed)
        matches.append(MedicineMatch(med.name(lang) if med else name, True, dict(entry),
                                     doses, agrees))
        covered |= aliases
        claimed.add(hit[1])
    # the closest medicine wins a word: "omeprazol" is omeprazole, not esomeprazole
    candidates = []
    for med in lexicon():
        if covered & set(med.aliases):
            continue
        hit = _best(words, med.aliases)
        if hit is not None:
            candidates.append((hit[0], hit[1], med))
    for _, position, med in sorted(candidates, key=lambda c: -c[0]):
        if position in claimed:
            continue
        claimed.add(position)
        matches.append(MedicineMatch(med.name(lang), False, None, doses, None))
    return matches
