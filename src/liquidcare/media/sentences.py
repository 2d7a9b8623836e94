"""Cutting a reply into the pieces that are spoken one at a time, so the first can be heard while
the rest is still being made.

A piece is a sentence (ending in . ! ? … followed by a space, closing quotes and brackets kept
with it); a sentence longer than `MAX_PIECE` characters is cut again after a comma, semicolon
or colon, so a long run-on reply does not hold back the first sound. The first sentence is cut
at its first such pause already when it is longer than `FIRST_PIECE`: the listener waits for
the first piece only (piper makes ~90 characters a second here), and while it plays the rest
is made faster than it is spoken.
"""

from __future__ import annotations

import re

MAX_PIECE = 220  # characters: about 15 s of speech, 1-2 CPU-seconds of piper here
FIRST_PIECE = 60  # characters: ~0.4 s of piper's work on an unloaded machine
MIN_CLAUSE = 12  # never a first piece shorter than this ("Well," alone is not worth a pause)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’»)\]]*$")


def split_sentences(text: str, max_piece: int = MAX_PIECE,
                    first_piece: int = FIRST_PIECE) -> list[str]:
    """`text` (spaces already collapsed or not) in speaking order; empty pieces dropped, and
    the pieces joined with single spaces give back the text's words in order."""
    pieces: list[str] = []
    sentences = _split_keep(_SENTENCE_END, " ".join(text.split()))
    if sentences and len(sentences[0]) > first_piece:
        clauses = _split_keep(_CLAUSE_END, sentences[0])
        head = next((i for i in range(1, len(clauses))
                     if len(" ".join(clauses[:i])) >= MIN_CLAUSE), None)
        if head is not None:
            sentences[:1] = [" ".join(clauses[:head]), " ".join(clauses[head:])]
    for sentence in sentences:
        if len(sentence) <= max_piece:
            pieces.append(sentence)
            continue
        current = ""
        for clause in _split_keep(_CLAUSE_END, sentence):
            # join clauses back up to the limit: many tiny pieces would each pay the voice's
            # fixed cost per call and put a pause after every comma
            if current and len(current) + 1 + len(clause) > max_piece:
                pieces.append(current)
                current = clause
            else:
                current = f"{current} {clause}" if current else clause
        if current:
            pieces.append(current)
    return pieces


def _split_keep(pattern: re.Pattern[str], text: str) -> list[str]:
    """Split after each match, keeping what the match's lookbehind saw (the punctuation) and
    any closing quotes with the left piece."""
    out, start = [], 0
    for match in pattern.finditer(text):
        piece = (text[start:match.start()] + match.group().rstrip()).strip()
        if piece:
            out.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def ends_sentence(piece: str) -> bool:
    """Whether `piece` ends a sentence (a speaker pauses longer there than at a comma)."""
    return bool(_ENDS_SENTENCE.search(piece))
