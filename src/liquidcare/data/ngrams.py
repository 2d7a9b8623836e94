"""Word 8-grams: how the project checks that two texts share no passage (train vs held-out
splits, anything we write vs the frozen evaluation sets).

Normalisation is deliberately simple so that anyone can reproduce a check: lower case, every run
of characters that are not letters or digits becomes one space, then split on spaces. Two texts
"share an 8-gram" when eight consecutive normalised words of one occur in the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

N = 8
_NOT_WORD = re.compile(r"[^\w]+|_+")


def words(text: str) -> list[str]:
    """``text`` lower-cased and split into words (letters and digits, any script)."""
    return _NOT_WORD.sub(" ", text.lower()).split()


def ngrams(text: str, n: int = N) -> set[tuple[str, ...]]:
    """The set of word ``n``-grams of ``text`` (empty when it has fewer than ``n`` words)."""
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def ngram_set(texts: Iterable[str], n: int = N) -> set[tuple[str, ...]]:
    """Every word ``n``-gram of any of ``texts``."""
    out: set[tuple[str, ...]] = set()
    for text in texts:
        out |= ngrams(text, n)
    return out


def shared(texts: Iterable[str], others: Iterable[str], n: int = N) -> set[tuple[str, ...]]:
    """The word ``n``-grams that occur both in ``texts`` and in ``others``."""
    return ngram_set(texts, n) & ngram_set(others, n)
