"""Cutting a reply into the pieces that are spoken one at a time, so the first can be heard while
the rest is still being made.

A piece is a sentence (ending in . ! ? … followed by a space, closing quotes and brackets kept
with it); a sentence longer than `MAX_PIECE` characters is cut again after a comma, semicolon
or colon, so a long run-on reply does not hold back the first sound.
"""

from __future__ import annotations

import re

MAX_PIECE = 220  # characters: about 15 s of speech, 1-2 CPU-seconds of piper here
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def split_sentences(text: str, max_piece: int = MAX_PIECE) -> list[str]:
    """`text` (spaces already collapsed or not) in speaking order; empty pieces dropped, and
    the pieces joined with single spaces give back the text's words in order."""
    pieces: list[str] = []
    for sentence in _split_keep(_SENTENCE_END, " ".join(text.split())):
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
