"""What every match of a pattern needs, read from the parsed pattern, so that a long text
that lacks it is not scanned at all (the word gate, `gate.py`, reads only a pattern's first
words; a rule such as `\\b(dose|amount)\\b.{0,60}\\b(deadly|lethal)\\b` is tried at every
"dose" of a long message although no "deadly" is in it).

`needed_chars`: characters one of which a match holds (for the patterns the gate cannot read
at all). `needed_words`: for each top-level alternative, the word prefixes of which every one
of its groups behind a `\\b` needs one: `could_need` asks the text's word index whether some
alternative has all of them. Both are conditions a match cannot do without, so skipping a
pattern that fails them changes no result.
"""

from __future__ import annotations

import re

try:  # the regex parser of the standard library
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

from .wordindex import _MAX_PREFIX

Needs = tuple[tuple[frozenset[str], ...], ...]  # per alternative: sets that must all be met


def _parse(pattern: re.Pattern[str]) -> list | None:
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        return list(_parser.parse(pattern.pattern, pattern.flags))
    except re.error:
        return None


def needed_chars(pattern: re.Pattern[str]) -> str | None:
    """Characters one of which every match of `pattern` holds, for a pattern the word gate
    cannot read (`anchors` None: "(^|\\s)(\\[|<|#)system" starts at a space): when none of
    them is in the text (one substring test each, in C) the pattern cannot match, and the
    scan of every position is skipped. Read from the parsed pattern; None when unknown."""
    parsed = _parse(pattern)
    found = _needed_in(parsed) if parsed else None
    return "".join(sorted(found)) if found else None


def _needed_in(items: list) -> frozenset[str] | None:
    """The rarest set of characters (`_rarity`) one of which a match of the sequence `items` holds:
    of each item that must match (a literal, a class of literals, a group, a branch whose
    alternatives all have one, a repeat of at least one)."""
    best: frozenset[str] | None = None
    for op, arg in items:
        found: frozenset[str] | None = None
        if op is _c.LITERAL:
            found = frozenset(chr(arg))
        elif op is _c.IN and all(o is _c.LITERAL for o, _ in arg):
            found = frozenset(chr(a) for _, a in arg)
        elif op is _c.SUBPATTERN and not arg[1] & re.IGNORECASE:
            found = _needed_in(list(arg[3]))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and arg[0] >= 1:
            found = _needed_in(list(arg[2]))
        elif op is _c.BRANCH:
            alts = [_needed_in(list(alt)) for alt in arg[1]]
            if all(a is not None for a in alts):
                found = frozenset().union(*alts)
        if found and (best is None or _rarity(found) < _rarity(best)):
            best = found
    return best


def _rarity(chars: frozenset[str]) -> tuple[bool, int]:
    """Sets of punctuation first (a letter or a space is in almost every text), then the
    smaller."""
    return any(c.isalnum() or c.isspace() for c in chars), len(chars)


def has_needed(needed: str | None, text: str) -> bool:
    """Whether `text` holds one of the `needed_chars` (None: nothing known, always)."""
    return needed is None or any(c in text for c in needed)


def _is_word_char(code: int) -> bool:
    return chr(code).isalnum() or code == ord("_")


def _first_word(items: list) -> frozenset[str] | None:
    """The literal prefixes one of which a word starting where `items` start begins with
    (None: not known): a run of word-character literals, a group or a branch of such."""
    if not items:
        return None
    op, arg = items[0]
    if op is _c.LITERAL and _is_word_char(arg):
        run = ""
        for op2, arg2 in items:
            if op2 is not _c.LITERAL or not _is_word_char(arg2) or len(run) >= _MAX_PREFIX:
                break
            run += chr(arg2)
        return frozenset([run])
    if op is _c.SUBPATTERN and not arg[1] & re.IGNORECASE:
        return _first_word(list(arg[3]))
    if op is _c.BRANCH:
        alts = [_first_word(list(alt)) for alt in arg[1]]
        return None if any(a is None for a in alts) else frozenset().union(*alts)
    if op is _c.IN and all(o is _c.LITERAL and _is_word_char(a) for o, a in arg):
        return frozenset(chr(a) for _, a in arg)
    return None


def _words_needed(items: list) -> tuple[frozenset[str], ...]:
    """Of a sequence, the first words of each literal behind a `\\b` at its top level: the
    letter after `\\b` begins a word (a run of \\w, as the word index splits the text)."""
    found = []
    for i, (op, arg) in enumerate(items):
        if op is _c.AT and arg is _c.AT_BOUNDARY:
            word = _first_word(items[i + 1:])
            if word:
                found.append(word)
    return tuple(found)


def needed_words(pattern: re.Pattern[str]) -> Needs | None:
    """Per top-level alternative, the sets of word prefixes it needs one of each (None: some
    alternative needs none that can be read, so the condition says nothing)."""
    parsed = _parse(pattern)
    if not parsed:
        return None
    if len(parsed) == 1 and parsed[0][0] is _c.BRANCH:
        alternatives = [list(alt) for alt in parsed[0][1][1]]
    else:
        alternatives = [parsed]
    needs = tuple(_words_needed(alt) for alt in alternatives)
    # Worth asking only when some alternative needs more than its first word (the gate's).
    if any(not n for n in needs) or all(len(n) < 2 for n in needs):
        return None
    return needs


def could_need(needs: Needs | None, prefixes: set[str] | frozenset[str]) -> bool:
    """Whether some alternative finds one of each of its needed prefixes among a text's word
    prefixes (`wordindex`: every prefix of every word, up to `_MAX_PREFIX` letters)."""
    return needs is None or any(all(not s.isdisjoint(prefixes) for s in alt) for alt in needs)
