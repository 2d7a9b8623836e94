"""The part of a long question that E5 reads: the sentences that carry the question, within a
token budget.

Why: E5's question encoder costs about 1 ms of CPU per token on the project's machine (docs/
knowledge.md, "Retrieval latency"), so a carer's 700-character message - a greeting, the family's
story, then the question - takes 150 ms where a one-line question takes 20. Most of such a
message does not help find the passage ("we moved her in with us in the spring", "thanks in
advance"); the question sentence and the sentences naming the problem do. USE reads the same
focus with a larger budget (`RetrievalConfig.use_query_tokens`) and BM25 the whole message, so a
detail dropped for E5 can still find its passage through them.

How: the message is cut into sentences (and a sentence over the budget into its clauses). The
pieces that ask something (a "?", an opening "¿", "how", "cómo" ...) come first; then each piece
counts the summed inverse document frequency (BM25's idf, over the knowledge base in the
question's language) of its distinct words, so words the knowledge base never uses ("Leeds",
"lino", "hope") count nothing and rare care words ("sundowning", "hipoglucemia") count most. The
pieces are kept in that order while they fit the budget, and put back in the message's order. A
message already within the budget is returned unchanged, so short questions are encoded exactly
as before. Chosen on the odd half of benchmarks/data/replies_dev_long.jsonl (docs/knowledge.md):
asking pieces first beat a fixed bonus for asking; summed idf beat idf per token; dropping stop
words to fit more words was worse.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable

from .text import fold, terms

# sentence ends, or a line break (carers type one thought a line)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n+\s*")
# a clause of a long sentence: after a comma, semicolon, colon or dash
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+[-–—]\s+")
# how a question opens when its "?" is missing (folded words)
_OPENERS = {
    "en": ("how", "what", "should", "can", "could", "why", "when", "where", "which", "is it",
           "is there", "do i", "do we", "does", "would", "any advice", "any tips"),
    "es": ("como", "que hago", "que puedo", "que debo", "que le", "debo", "puedo", "deberia",
           "podria", "cuanto", "cuanta", "cuando", "donde", "por que", "hay algo", "hay alguna",
           "es normal", "es grave"),
}


def idf_table(documents: Iterable[list[str]]) -> dict[str, float]:
    """BM25's idf of every term of the documents: log(1 + (N - df + 0.5) / (df + 0.5))."""
    df: Counter[str] = Counter()
    n = 0
    for doc in documents:
        df.update(set(doc))
        n += 1
    return {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


def pieces(text: str, fits: Callable[[str], bool]) -> list[str]:
    """The message's sentences, a sentence that does not `fit` cut into its clauses."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if not sentence.strip():
            continue
        if fits(sentence):
            out.append(sentence.strip())
        else:
            out.extend(c.strip() for c in _CLAUSE_END.split(sentence) if c.strip())
    return out


def asks(piece: str, lang: str) -> bool:
    """Whether a piece asks something: a question mark, or a question's opening words."""
    folded = fold(piece).lstrip("¿¡\"'( ")
    if piece.rstrip().endswith("?") or piece.lstrip().startswith("¿"):
        return True
    return any(folded == o or folded.startswith(o + " ") for o in _OPENERS.get(lang, ()))


def focus(text: str, lang: str, budget: int, count: Callable[[str], int],
          idf: dict[str, float]) -> str:
    """At most `budget` tokens (by `count`) of `text`: its most informative pieces, in order.

    `count(piece)` is the encoder's token count of a piece (without "query: "); pieces are
    counted one by one, and E5's tokenizer splits words independently, so the kept text's count
    is the sum of its pieces'. A piece longer than the whole budget on its own (one sentence
    with no commas) is cut at the budget, word by word."""
    if budget <= 0:
        raise ValueError(f"budget {budget}: expected a positive number of tokens")
    sizes: dict[str, int] = {}

    def size(piece: str) -> int:
        if piece not in sizes:
            sizes[piece] = count(piece)
        return sizes[piece]

    if size(text) <= budget:
        return text
    parts = pieces(text, lambda s: size(s) <= budget)
    scores = []
    for i, piece in enumerate(parts):
        weight = sum(idf.get(t, 0.0) for t in set(terms(piece, lang)))
        # what is asked first, then what tells most; ties go to the later piece: carers tend
        # to end with what they want to know
        scores.append((asks(piece, lang), weight, i))
    kept: list[int] = []
    left = budget
    for _, weight, i in sorted(scores, reverse=True):
        # a piece with no word of the knowledge base's ("thanks in advance") tells E5 nothing
        if weight > 0 and size(parts[i]) <= left:
            kept.append(i)
            left -= size(parts[i])
    if not kept:  # the best piece alone is over the budget: its first words
        return _cut(parts[max(scores)[2]], budget, size)
    return " ".join(parts[i] for i in sorted(kept))


def _cut(piece: str, budget: int, size: Callable[[str], int]) -> str:
    words = piece.split()
    lo, hi = 0, len(words)  # the most words whose count fits: a binary search
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size(" ".join(words[:mid])) <= budget:
            lo = mid
        else:
            hi = mid - 1
    # a first word over the budget on its own: the encoder's own cap cuts it
    return " ".join(words[:max(lo, 1)])
