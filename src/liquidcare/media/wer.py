"""Word error rate of a transcript against what was said, after one normaliser applied to both.

The normaliser is in the spirit of Whisper's basic text normaliser: it removes what a listener
cannot hear, so that a transcript is not charged for writing conventions, and nothing else.

- lower case; accents and the tilde folded (``está`` = ``esta``, ``mañana`` = ``manana``):
  a chat message is understood either way, and the two sides are folded alike;
- punctuation and symbols become spaces (``¿salimos?`` = ``salimos``, ``o'clock`` = ``o clock``);
- a number written in digits matches the same number said in words: ``2`` = ``dos`` = ``two``,
  and a number of several words is read as one (``treinta y cinco`` = ``35``,
  ``twenty five`` = ``25``). Two different words for one number still differ (``una`` against
  ``uno`` is an error: that is the word said, not its spelling).

- a British spelling equals the American one of the same word (``centre`` = ``center``,
  ``programme`` = ``program``): Whisper writes American English, and the two are one word
  said alike. Only an explicit list of such pairs (`BRITISH`), no rule: ``-our`` endings are
  also ``four`` and ``hour``, and ``tyre``/``tire`` or ``practise``/``practice`` are not
  always one word.

Nothing else is forgiven: a wrong word, a split word (``esto malo`` for ``estómago``) or a
missing one counts, and the same function scores reference and transcript.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_UNITS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
           "eighteen", "nineteen"],
    "es": ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
           "diez", "once", "doce", "trece", "catorce", "quince", "dieciseis", "diecisiete",
           "dieciocho", "diecinueve", "veinte", "veintiuno", "veintidos", "veintitres",
           "veinticuatro", "veinticinco", "veintiseis", "veintisiete", "veintiocho",
           "veintinueve"],
}
_TENS = {
    "en": {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
           "eighty": 80, "ninety": 90},
    "es": {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
           "ochenta": 80, "noventa": 90},
}
# every number word of either language with its value (the languages share no spelling)
NUMBER_WORDS: dict[str, int] = {
    **{w: i for lang in _UNITS for i, w in enumerate(_UNITS[lang])},
    **{w: v for lang in _TENS for w, v in _TENS[lang].items()},
    "una": 1, "un": 1, "cien": 100, "hundred": 100,
}
# British spelling -> American, for words said the same (written for this project; care talk)
BRITISH: dict[str, str] = {
    "centre": "center", "centres": "centers", "programme": "program", "programmes": "programs",
    "colour": "color", "colours": "colors", "favourite": "favorite", "neighbour": "neighbor",
    "neighbours": "neighbors", "behaviour": "behavior", "humour": "humor", "labour": "labor",
    "tumour": "tumor", "flavour": "flavor", "honour": "honor", "metre": "meter",
    "metres": "meters", "litre": "liter", "litres": "liters", "theatre": "theater",
    "fibre": "fiber", "grey": "gray", "travelled": "traveled", "travelling": "traveling",
    "cancelled": "canceled", "jewellery": "jewelry", "pyjamas": "pajamas",
    "organise": "organize", "organised": "organized", "realise": "realize",
    "realised": "realized", "recognise": "recognize", "apologise": "apologize",
    "analyse": "analyze", "paralysed": "paralyzed", "ageing": "aging", "mould": "mold",
    "anaemia": "anemia", "diarrhoea": "diarrhea", "oesophagus": "esophagus",
    "haemorrhage": "hemorrhage", "paediatric": "pediatric", "orthopaedic": "orthopedic",
    "oestrogen": "estrogen", "licence": "license", "defence": "defense", "offence": "offense",
    "catalogue": "catalog", "sceptical": "skeptical", "manoeuvre": "maneuver",
}
_TENS_ALL = {w: v for lang in _TENS for w, v in _TENS[lang].items()} | {"veinte": 20}


def fold(text: str) -> str:
    """Lower case, accents gone, only letters, digits and single spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _join_numbers(tokens: list[str]) -> list[str]:
    """A number said in several words ("twenty five", "treinta y cinco") as its digits."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tens = _TENS_ALL.get(tokens[i])
        if tens is not None:
            # "twenty five" / "treinta y cinco": a tens word, an optional "y", a unit 1-9
            j = i + 2 if i + 2 < len(tokens) and tokens[i + 1] == "y" else i + 1
            unit = NUMBER_WORDS.get(tokens[j]) if j < len(tokens) else None
            if unit is not None and 1 <= unit <= 9:
                out.append(str(tens + unit))
                i = j + 1
                continue
        out.append(tokens[i])
        i += 1
    return out


def normalise(text: str) -> list[str]:
    """The words of `text` as they are compared (see the module's docstring)."""
    return _join_numbers([BRITISH.get(w, w) for w in fold(text).split()])


def _value(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def same_word(a: str, b: str) -> bool:
    """Equal words, or a number in digits and the same number in words."""
    if a == b:
        return True
    if a.isdigit() == b.isdigit():  # two spellings in words ("una", "uno") stay different
        return False
    va, vb = _value(a), _value(b)
    return va is not None and va == vb


def edits(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions, deletions), with
    `same_word` as equality."""
    prev = list(range(len(hyp) + 1))
    for i, x in enumerate(ref, 1):
        cur = [i]
        for j, y in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (not same_word(x, y))))
        prev = cur
    return prev[-1]


def word_errors(reference: str, transcript: str) -> tuple[int, int]:
    """(errors, words said): the edit distance between the normalised texts and the length of
    the normalised reference. Raises ValueError when the reference holds no word."""
    ref = normalise(reference)
    if not ref:
        raise ValueError(f"the reference {reference!r} holds no word to score against")
    return edits(ref, normalise(transcript)), len(ref)
