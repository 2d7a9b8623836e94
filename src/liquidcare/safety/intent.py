"""Which words govern a match: the output check's negation scope "clause".

A reply that *advises against* a harm holds the harm's words: "never give double", "do not
lock the door from outside", "en lugar de encerrarla, ponga un sensor". A bare "no" somewhere
in the sentence is not enough to clear it, though: "if she does not settle, tie her to the
bed" is an instruction. So a negation counts only where it governs the match: in the match's
own clause, at most `GOVERNING_WORDS` words before it, or before a list that the match closes
("never stop, skip or double a dose"). Clauses end at , ; : and at "but", "then", "pero",
"luego" and the like; a parenthesis between commas ("do not, under any circumstances, tie...")
is read through.

`frames` (per rule) are read over the whole sentence instead: they say the act is named as
harm ("...is a form of abuse"), told as an event ("if she has taken the whole packet, call
999") or made the doctor's decision ("ask the pharmacist first").
"""

from __future__ import annotations

import re

GOVERNING_WORDS = 10
# Where a clause starts: punctuation, or a conjunction that opens a new statement.
_BOUNDARY = re.compile(r"[,;:()]|\s[-–—]\s|\b(but|however|then|so|instead|otherwise|pero|sin "
                       r"embargo|luego|entonces|asi que|si no)\b")
# A parenthesis between commas, read through as if it were not there.
_ASIDE = re.compile(r",\s*(under (any|no) circumstances|ever|please|at any time|at all|en ningun "
                    r"caso|bajo ningun concepto|por favor|nunca|jamas)\s*,")
# A list closed by the match: "never stop, skip or double".
_LIST_TAIL = re.compile(r"\b(or|and|nor|o|u|y|e|ni)\s*$")
_WORD = re.compile(r"\S+")


def read_through_asides(text: str) -> str:
    """`text` with parentheses between commas blanked out (same length: offsets hold)."""
    return _ASIDE.sub(lambda m: " " * len(m.group(0)), text)


def governing(text: str, sentence_start: int, pos: int) -> str:
    """The words before `pos` that can govern it: back to the start of its clause (across
    the commas of a list it closes), at most `GOVERNING_WORDS` words."""
    cuts = [m for m in _BOUNDARY.finditer(text, sentence_start, pos)]
    start = cuts[-1].end() if cuts else sentence_start
    window = text[start:pos]
    i = len(cuts) - 1
    while i >= 0 and cuts[i].group(0) == "," and _LIST_TAIL.search(window):
        i -= 1
        start = cuts[i].end() if i >= 0 else sentence_start
        window = text[start:pos]
    words = _WORD.findall(window)
    return " ".join(words[-GOVERNING_WORDS:])
