"""Words for BM25: lower case, accents folded, stop words dropped, Snowball stems.

Carers type "caida" as often as "caída" and "hidratarse" when a passage says "hidratación";
folding and stemming both sides the same way lets BM25 match them. Stop-word lists come with
`bm25s`; stems from PyStemmer (Snowball), which `bm25s` itself uses.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_SPANISH

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÑ¿¡\"'(0-9])")
_STEMMER_NAMES = {"en": "english", "es": "spanish"}


def fold(text: str) -> str:
    """Lower case without accents (ñ becomes n, as people type it without the key)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=2)
def _stopwords(lang: str) -> frozenset[str]:
    words = STOPWORDS_EN_PLUS if lang == "en" else STOPWORDS_SPANISH
    return frozenset(fold(w) for w in words)


@lru_cache(maxsize=2)
def _stemmer(lang: str):
    import Stemmer

    return Stemmer.Stemmer(_STEMMER_NAMES[lang])


def terms(text: str, lang: str) -> list[str]:
    """The BM25 terms of `text` in `lang` ('en' or 'es')."""
    stop = _stopwords(lang)
    words = [w for w in _WORD.findall(fold(text)) if w not in stop and len(w) > 1]
    return _stemmer(lang).stemWords(words)


def sentences(text: str) -> list[str]:
    """The sentences of a passage (a full stop, ! or ? before a capital or a number)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def framing_terms(passages: Iterable[Any], lang: str, share: float,
                  ratio: float) -> frozenset[str]:
    """The terms the passages' questions use far more than their texts: how carers frame a
    question ("my mum", "mi padre", "¿qué hago?"), not what it is about. A term counts when
    it is in the questions of at least `share` of the passages and of at least `ratio` times
    as many passages as have it in their title or text (plus one)."""
    passages = list(passages)  # knowledge base passages (`kb.Passage`: questions, title, text)
    if share <= 0 or not passages:
        return frozenset()
    asked: Counter[str] = Counter()
    said: Counter[str] = Counter()
    for p in passages:
        asked.update({t for q in p.questions for t in terms(q, lang)})
        said.update(set(terms(f"{p.title}. {p.text}", lang)))
    least = share * len(passages)
    return frozenset(t for t, n in asked.items() if n >= least and n >= ratio * (said[t] + 1))
