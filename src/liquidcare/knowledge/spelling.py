"""Carers' spellings put back the way the knowledge base writes them, before the encoders read
a question.

Carers type fast on a phone: "dads tablets", "he cant", "mums been", "lleva 4 dias",
"pedir cita con la medica". BM25 folds accents away already (`text.fold`), but E5 and USE read
the words as typed, and to them "dias" and "días", "cant" and "can't" are other tokens. The
map is built from the knowledge base's own words, no hand-made list: a word of the question
that the knowledge base never writes that way, but does write with an accent or an apostrophe
("días", "can't", "dad's"), takes the knowledge base's most frequent spelling. A word the
knowledge base writes as typed is left alone, so "esta" (this) is never turned into "está",
nor "its" into "it's": only a spelling the passages never use changes.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from .text import fold

# a word, with one inner apostrophe at most ("don't", "dad's"); letters of any script
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _key(word: str) -> str:
    return fold(word).replace("'", "")


class Respeller:
    """``Respeller.from_texts(kb_texts).respell("mums been down")`` -> "mum's been down"."""

    def __init__(self, spellings: dict[str, str], known: set[str]) -> None:
        self.spellings, self.known = spellings, known

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Respeller:
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for text in texts:
            for word in _WORD.findall(text.replace("\u2019", "'").lower()):
                forms[_key(word)][word] += 1
        known = {w for c in forms.values() for w in c}
        # the most frequent spelling wins; a tie goes to the first in alphabetical order, so
        # the map does not depend on the order of the files
        spellings = {k: min(c, key=lambda w: (-c[w], w)) for k, c in forms.items()}
        return cls(spellings, known)

    def respell(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            word = match.group(0)
            low = word.lower()
            if low in self.known:
                return word
            best = self.spellings.get(_key(low))
            if best is None:
                return word
            return best[0].upper() + best[1:] if word[0].isupper() else best

        return _WORD.sub(one, text.replace("\u2019", "'"))
