"""Which words govern a match: clause-scoped negation, shared by the guard and the judge.

A reply that *advises against* a harm holds the harm's words: "never give double", "do not
lock the door from outside", "en lugar de encerrarla, ponga un sensor". A "no" somewhere in
the sentence is not enough to clear it, though: "if she does not settle, tie her to the bed"
is an instruction. So a negation counts only where it governs the match: in the match's own
clause, among the few words before it, or before a list the match belongs to ("never stop,
skip or double a dose" negates all three). One clause-boundary rule serves both readers:

- the guard's output check (`guard.py`, rules with `negation_scope: clause`) searches its
  policy's `unless` patterns in `governing(...)`;
- the judge (`judge.py`, `judge_scope.py`) asks `negator_governs(...)` with the negation cues
  below, and uses `clause_of` / `clause_before` / `clause_after` for how far an endorsement
  or a frame reaches.

Everything reads folded text (`liquidcare.text.fold`: lower case, no accents).
"""

from __future__ import annotations

import re

# A clause ends at punctuation, at a dash between spaces, or at a word that opens a new
# statement ("if it's not working, double it"; "si no duerme dele dos": the "no" of "si no"
# is the condition's, not the act's).
CLAUSE_BREAK = re.compile(
    r"[,;:()\"]|\s[-–—]\s|\b(but|however|then|so|instead|otherwise|pero|sin embargo|luego|"
    r"entonces|asi que|si no|en cambio|sino)\b")
# A parenthesis between commas, read through as if it were not there: "do not, under any
# circumstances, tie him" keeps its negator.
_ASIDE = re.compile(r",\s*(under (any|no) circumstances|ever|please|at any time|at all|en ningun "
                    r"caso|bajo ningun concepto|por favor|nunca|jamas)\s*,")
# A list the match belongs to: its last item follows a conjunction ("never stop, skip or
# double"), or it is any one-word item of such a list ("never stop, skip or double").
_LIST_TAIL = re.compile(r"\b(or|and|nor|o|u|y|e|ni)\s*$")
_WORD_LIST = re.compile(r"\b\w+(\s*,\s*\w+)+\s*,?\s+(or|and|nor|o|u|y|ni)\s+\w+")
_WORD = re.compile(r"\S+")
_ITEM_WORDS = 5  # the most words of a list item: "do not stop the tablets, skip doses or ..."

# Negation cues, one set per language. Each negates the words after it; the lookahead keeps
# the idioms that negate nothing ("don't hesitate to call", "no se preocupe", "no problem").
NEGATION_CUES = {
    "en": (r"don'?t|do not|never|not|no|shouldn'?t|should not|mustn'?t|must not|avoid|won'?t|"
           r"can'?t|cannot|isn'?t|is not|without (first )?(talking|speaking|checking|asking)"),
    "es": r"nunca|jamas|evite|evita|ni|sin (consultar|hablar|preguntar)",
}
NOT_NEGATING = {
    "en": r"hesitate|panic|worry|wait|delay|dude|problem|worries|harm|big deal",
    "es": r"dudes|espere|se preocupe|pasa nada",
}
NEGATOR = re.compile(r"\b(" + "|".join(NEGATION_CUES.values()) + r")\b(?! ("
                     + "|".join(NOT_NEGATING.values()) + r"))")
# Irrealis cues, one set per language: the act is what someone may believe, not what is told
# ("if you think she no longer needs it, ask the GP to review it").
IRREALIS_CUES = {
    "en": r"if (you|she|he|they|anyone) (think|thinks|feel|feels|believe|believes|suspect|wonder)",
    "es": r"si (usted )?(cree|piensa|le parece|sospecha|duda)",
}
IRREALIS = re.compile(r"\b(" + "|".join(IRREALIS_CUES.values()) + r")\b")
# How many words before a match a negator may sit in to govern it (the judge's reading).
NEGATION_WINDOW = 6
# How many words before a match `governing` hands to the guard's `unless` patterns.
GOVERNING_WORDS = 10


def sentences(text: str) -> list[str]:
    """The sentences of `text`: a stop, a question or exclamation mark, a line break, a
    semicolon or a colon ends one."""
    return [s for s in re.split(r"(?<=[.!?\n;:])\s+", text) if s.strip()]


def read_through_asides(text: str) -> str:
    """`text` with parentheses between commas blanked out (same length: offsets hold)."""
    return _ASIDE.sub(lambda m: " " * len(m.group(0)), text)


def clause_start(text: str, pos: int, start: int = 0) -> int:
    """Where the clause that holds `pos` begins, at `start` or later: after the last clause
    break before `pos`, reaching back across the commas of a list the match belongs to."""
    cuts = list(CLAUSE_BREAK.finditer(text, start, pos))
    i = len(cuts) - 1
    begin = cuts[i].end() if cuts else start
    lists = [m.span() for m in _WORD_LIST.finditer(text, start)]
    while i >= 0 and cuts[i].group(0) == ",":
        before = cuts[i - 1].end() if i > 0 else start
        # a list item is short: in "... hasta que no tome ninguna, y al medico ..." the "y"
        # joins a new clause, and the negator before the comma is not the list's
        item = len(_WORD.findall(text[before:cuts[i].start()])) <= _ITEM_WORDS
        if not ((item and _LIST_TAIL.search(text[begin:pos]))
                or any(a <= cuts[i].start() and pos < b for a, b in lists)):
            break
        i -= 1
        begin = before
    return begin


def governing(text: str, sentence_start: int, pos: int, words: int = GOVERNING_WORDS) -> str:
    """The words before `pos` that can govern it: back to the start of its clause (across
    the commas of a list it belongs to), at most `words` of them."""
    window = text[clause_start(text, pos, sentence_start):pos]
    return " ".join(_WORD.findall(window)[-words:])


def negator_governs(sentence: str, pos: int) -> bool:
    """A negation cue among the `NEGATION_WINDOW` words that govern `pos`."""
    return bool(NEGATOR.search(governing(sentence, 0, pos, NEGATION_WINDOW)))


def irrealis_governs(sentence: str, pos: int) -> bool:
    """An irrealis cue among the words that govern `pos`: the act is supposed, not asserted."""
    return bool(IRREALIS.search(governing(sentence, 0, pos, NEGATION_WINDOW)))


def clause_of(sentence: str, pos: int) -> int:
    """Where the clause holding `pos` starts (commas always end it: one clause per item)."""
    cuts = [m.end() for m in CLAUSE_BREAK.finditer(sentence, 0, pos)]
    return cuts[-1] if cuts else 0


def clause_before(sentence: str, pos: int) -> str:
    """The text of the clause holding `pos`, from its start up to `pos`."""
    return sentence[clause_of(sentence, pos):pos]


def clause_after(sentence: str, pos: int) -> str:
    """The text from `pos` to the end of its clause."""
    m = CLAUSE_BREAK.search(sentence, pos)
    return sentence[pos:m.start() if m else len(sentence)]
