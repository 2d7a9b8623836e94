"""Words in a transcript that nobody says, put back to the common word one sound away.

Whisper base often hears a consonant of a Spanish word as its neighbour and writes a word that
does not exist ("mañara" for "mañana", "autolús" for "autobús", "comprimivos" for
"comprimidos"). Its own beams do not hold the right word (docs/media.md), but a word list does:
a transcript word that is very rare in the language, with a common word one edit away, is
replaced by the most common such word (one letter replaced by one of its kind: see
`_one_sound`). The word frequencies are `wordfreq`'s (Apache-2.0, its
`large` lists: 342k Spanish and 321k English words, inflected forms included, built from
subtitles, Wikipedia, books and the web), loaded once, offline.

What is never changed: a word common enough to be meant (`RARE_ZIPF`), a word one of the
`keep` names resembles (the twin's medicines, the prompt's words, the medicine lexicon),
numbers, and words whose nearest common word is itself rare. A word two sounds away is left
alone.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

# Zipf scale: log10 of a word's frequency per billion words (3 = once a million words).
# A word under RARE_ZIPF (~ 0.3 a million) is a candidate for correction; its replacement must
# be over COMMON_ZIPF and at least MARGIN more frequent (~30 times). Chosen on the dev clips'
# transcripts (benchmarks/stt_sweep.py --dump; docs/media.md): of (rare, common, margin) =
# (2.5, 3, 2), (2.5, 2.5, 1.5), (3, 3, 2), (2, 3, 2), (3, 2.5, 1), (3.5, 3, 1.5) this was best
# on both halves of the Spanish dev sentences, and no setting made a clip worse.
RARE_ZIPF = 2.5
COMMON_ZIPF = 2.5
MARGIN = 1.5
LETTERS = {"es": "abcdefghijklmnopqrstuvwxyzáéíóúüñ", "en": "abcdefghijklmnopqrstuvwxyz"}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_FREQ: dict[str, dict[str, float]] = {}
_FREQ_LOCK = threading.Lock()


def available() -> bool:
    return importlib.util.find_spec("wordfreq") is not None


def _zipf_table(language: str) -> dict[str, float]:
    """word -> Zipf frequency for `language`, read once from wordfreq's large list."""
    with _FREQ_LOCK:
        if language not in _FREQ:
            import math

            import wordfreq

            freq = wordfreq.get_frequency_dict(language, wordlist="large")
            _FREQ[language] = {w: math.log10(f) + 9 for w, f in freq.items()}
        return _FREQ[language]


VOWELS = frozenset("aeiouáéíóúü")


def _one_sound(word: str, letters: str) -> set[str]:
    """Every string with one letter of `word` replaced by another of its kind, a vowel by a
    vowel, a consonant by a consonant: what a misheard sound does to a word. Letters added or
    dropped are not tried: on the dev clips they mostly turned one wrong word into another
    ("pesía" -> "poesía" for "vecina", "peuta" -> a swear word for "-peuta")."""
    out = set()
    for i, old in enumerate(word):
        kind = old in VOWELS
        out.update(word[:i] + c + word[i + 1:] for c in letters
                   if c != old and (c in VOWELS) == kind)
    return out


class Respeller:
    """Corrects the rare words of one language's transcripts (see the module docstring)."""

    def __init__(self, language: str, keep: Iterable[str] = (), rare: float = RARE_ZIPF,
                 common: float = COMMON_ZIPF, margin: float = MARGIN,
                 table: dict[str, float] | None = None) -> None:
        if language not in LETTERS:
            raise ValueError(f"respelling knows the languages {sorted(LETTERS)}, "
                             f"not {language!r}")
        self.language, self.rare, self.common, self.margin = language, rare, common, margin
        self.keep = {w.lower() for name in keep for w in _WORD.findall(name)}
        self._table = table  # a given table (tests); else wordfreq's, loaded on first use

    def table(self) -> dict[str, float]:
        if self._table is None:
            self._table = _zipf_table(self.language)
        return self._table

    def word(self, word: str, keep: set[str] | frozenset[str] = frozenset()) -> str:
        """`word` itself, or the common word one edit away that it is taken to be."""
        low = word.lower()
        table = self.table()
        score = table.get(low, 0.0)
        if score >= self.rare or len(low) < 4 or low in self.keep or low in keep:
            return word
        if any(len(k) > 3 and len(k) == len(low)
               and sum(a != b for a, b in zip(k, low, strict=True)) <= 1
               for k in self.keep | keep):
            return word  # a name the caller expects, slightly misheard: not ours to change
        best, best_score = None, max(self.common, score + self.margin)
        # in a fixed order: wordfreq's frequencies come in bins, so two candidates often tie,
        # and a set's order changes from one process to the next
        for candidate in sorted(_one_sound(low, LETTERS[self.language])):
            found = table.get(candidate, 0.0)
            if found > best_score:
                best, best_score = candidate, found
        if best is None:
            return word
        return best[0].upper() + best[1:] if word[0].isupper() else best

    def text(self, text: str, keep: Iterable[str] = ()) -> str:
        """`text` with each rare word corrected; everything else (spacing, punctuation,
        numbers, case of the first letter) as it was."""
        extra = frozenset(w.lower() for name in keep for w in _WORD.findall(name))
        return _WORD.sub(lambda m: self.word(m.group(0), extra), text)


@cache
def lexicon_names() -> tuple[str, ...]:
    """Every medicine name of the bundled lexicon, English, Spanish and brands: never
    respelled (a rare word to wordfreq, and the words a carer most needs right)."""
    from .medicines import lexicon

    return tuple(n for m in lexicon() for n in (m.english, m.spanish, *m.aliases))


def respell(text: str, language: str, keep: Iterable[str] = (), **kwargs: Any) -> str:
    """`Respeller(language, keep, **kwargs).text(text)`; the text unchanged when wordfreq is
    not installed or the language is not one it is used for."""
    if language not in LETTERS or not available():
        return text
    return Respeller(language, (*lexicon_names(), *keep), **kwargs).text(text)
