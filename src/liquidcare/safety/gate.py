"""A word gate in front of the regular expressions, so that long messages stay cheap.

Python's regex engine tries a pattern that starts with `\\b(` at every position of the text:
on an 8,000-character message the policy's hundred-odd patterns cost tens of milliseconds.
Most patterns can only match where a word starts with one of a few literal prefixes (the
first word of each alternative: `\\b(chest|pecho)\\b...`, `\\bconvuls\\w*`), is one of a few
whole words (`\\bdo not`: the word "do"), or starts with a digit (`\\b\\d+ tablets`); an
optional first group (`\\b(no )?(quiero|quiere)`) adds the words after it. `anchors` reads
those from the pattern's source, conservatively (any construct it does not follow gives None:
always run); `could_match` skips a pattern when no word of the text fits, and `search` tries a
pattern only where such a word starts. The result is the same as running every pattern over
the whole text; only the time changes.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator

from .wordindex import _MAX_PREFIX, _index, _prefixes_of, apply

_LETTERS = re.compile(r"[a-z0-9]+")  # a literal word start: letters or digits ("999")
_DIGITS = frozenset("0123456789")
# Texts shorter than this are matched directly: the gate would cost more than it saves.
GATE_FROM = 1500
# The emergency frames (`Gated`) are alternations of dozens of phrases: on 300 characters one
# search costs a millisecond directly and a fifth of that through the gate.
GATED_FROM = 256


def _top_level(source: str) -> list[str] | None:
    """The top-level alternatives of a pattern (None if the brackets do not balance)."""
    events = list(_structure(source))
    if events[-1][2] != 0:
        return None
    cuts = [i for i, ch, depth in events if ch == "|" and depth == 0]
    bounds = [-1, *cuts, len(source)]
    return [source[a + 1:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _structure(source: str) -> Iterator[tuple[int, str, int]]:
    """(index, char, depth after it) of each bracket and bar outside escapes and character
    classes, then (len, "", final depth; -1 inside an open class): the one scanner that both
    splitting a pattern and finding a group's end read."""
    depth, i, in_class = 0, 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()|":
            depth += (ch == "(") - (ch == ")")
            yield i, ch, depth
        i += 1
    yield len(source), "", -1 if in_class else depth


def _part_anchors(part: str) -> set[str] | None:
    """What a match of `part` starts with: a word prefix ("convuls"), a whole word ("do$",
    when a space follows the letters), a digit for `\\d`; None when it is not a literal."""
    if part.startswith("\\d"):
        return set(_DIGITS)
    if part.startswith("("):  # a nested group, also at the start of a word
        return _alt_anchors("\\b" + part)
    m = _LETTERS.match(part)
    if not m:
        return None
    word, rest = m.group(0), part[m.end():]
    if rest[:1] in ("?", "*", "{"):
        word = word[:-1]  # the last letter is optional
    elif rest[:1] == " " and rest[1:2] not in ("?", "*", "{"):
        return {word + "$"}  # a space follows: the word ends here
    # One letter is a poor gate but a true one ("a&e", "i'm", "l[oa]s?"): better than none.
    return {word[:_MAX_PREFIX]} if word else None


def _group_end(source: str) -> int | None:
    return next((i for i, ch, depth in _structure(source) if ch == ")" and depth == 0), None)


def _alt_anchors(alt: str) -> set[str] | None:
    if alt.startswith(("(?<!", "(?<=")):  # a lookbehind takes no characters: skip it
        end = _group_end(alt)
        return None if end is None else _alt_anchors(alt[end + 1:])
    if not alt.startswith("\\b"):
        return None
    body = alt[2:]
    if not body.startswith("("):
        return _part_anchors(body)
    end = _group_end(body)
    if end is None:
        return None
    quantifier = body[end + 1:end + 2]
    inner = body[1:end]
    if inner.startswith("?:"):
        inner = inner[2:]
    elif inner.startswith("?") or quantifier in ("*", "{", "+"):
        return None
    parts = _top_level(inner)
    if not parts:
        return None
    out: set[str] = set()
    for part in parts:
        found = _part_anchors(part)
        if found is None:
            return None
        out |= found
    if quantifier == "?":  # an optional group: the match may start after it instead
        after = _alt_anchors("\\b" + body[end + 2:])
        return None if after is None else out | after
    return out


def anchors(source: str) -> frozenset[str] | None:
    """Prefixes one of which begins a word wherever `source` matches; None: no such set."""
    alts = _top_level(source)
    if not alts:
        return None
    out: set[str] = set()
    for alt in alts:
        found = _alt_anchors(alt)
        if found is None:
            return None
        out |= found
    return frozenset(out)


def _starts(anchor: frozenset[str], text: str) -> list[int]:
    """Where in `text` a word that `anchor` allows starts, in order (memoised per text)."""
    return _index(text).starts(anchor)


def starts_between(anchor: frozenset[str] | None, text: str, lo: int, hi: int) -> bool:
    """Whether a word that `anchor` allows starts in `text[lo:hi]`: a piece cut at word
    boundaries (a clause) can hold a match of the pattern only then."""
    if anchor is None or len(text) < GATE_FROM:
        return True
    starts = _starts(anchor, text)
    i = bisect_left(starts, lo)
    return i < len(starts) and starts[i] < hi


def could_match(anchor: frozenset[str] | None, text: str) -> bool:
    if anchor is None or len(text) < GATE_FROM:
        return True
    return not anchor.isdisjoint(_index(text).prefixes)


def search(pattern: re.Pattern[str], anchor: frozenset[str] | None,
           text: str, pos: int = 0, gate_from: int = GATE_FROM) -> re.Match[str] | None:
    """`pattern.search(text, pos)`, tried only where a word that `anchor` allows starts (a
    match can start nowhere else): on a long text a few dozen attempts instead of one at each
    of its thousands of positions. The first match found is the leftmost, as search's (both
    read the text before `pos` for `\\b` and lookbehinds)."""
    if anchor is None or len(text) < gate_from:
        return pattern.search(text, pos)
    starts = _starts(anchor, text)
    for i in range(bisect_left(starts, pos) if pos else 0, len(starts)):
        m = pattern.match(text, starts[i])
        if m:
            return m
    return None


def finditer(pattern: re.Pattern[str], anchor: frozenset[str] | None,
             text: str, gate_from: int = GATE_FROM) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` through the gate: matches looked for only where an allowed
    word starts, leftmost first, none overlapping (finditer's order; no empty matches)."""
    if anchor is None or len(text) < gate_from:
        yield from (m for m in pattern.finditer(text) if m.end() > m.start())
        return
    last = 0
    for pos in _starts(anchor, text):
        if pos < last:
            continue
        m = pattern.match(text, pos)
        if m and m.end() > m.start():
            yield m
            last = m.end()


def sub(pattern: re.Pattern[str], anchor: frozenset[str] | None,
        repl: str | Callable[[re.Match[str]], str], text: str,
        gate_from: int = GATE_FROM) -> str:
    """`pattern.sub(repl, text)` through the gate (for patterns that never match empty);
    `repl` a template or, as for `re.sub`, a function of the match."""
    if anchor is None or len(text) < gate_from:
        return pattern.sub(repl, text)
    # `apply` remembers how the result was made: its word index is derived from this one's.
    return apply(text, [(m.start(), m.end(), repl(m) if callable(repl) else m.expand(repl))
                        for m in finditer(pattern, anchor, text, gate_from)])


_WORD = re.compile(r"\w+")
# Alternations of at least this many phrases are gated on short texts too (`Gated`).
SHORT_GATE_ALTERNATIVES = 16


def _short_finditer(pattern: re.Pattern[str], anchor: frozenset[str], text: str,
                    pos: int = 0) -> Iterator[re.Match[str]]:
    """`finditer` (non-empty matches from `pos`) through the gate on a text too short to
    index: its words read by one scan, each word's prefixes from the vocabulary's memo."""
    last = pos
    for word in _WORD.finditer(text, pos):
        if word.start() >= last and not anchor.isdisjoint(_prefixes_of(word.group())):
            m = pattern.match(text, word.start())
            if m and m.end() > m.start():
                yield m
                last = m.end()


class Gated:
    """A compiled pattern whose `search` and `sub` go through the word gate (the module-level
    patterns of the emergency assessor, read on whole messages); anything else is the
    pattern's own. The frames that are alternations of dozens of phrases (`PAST`, `ABOUT`,
    `FRAMED`, `IDIOMS`) are gated on the short texts they mostly read too (a sentence, a
    clause, an ordinary message): `PAST` tries its 56 phrases at each position, ~0.25 ms on
    100 characters, against ~0.06 ms tried where its first words start."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern_object = pattern
        self.anchor = anchors(pattern.pattern)
        self.short = self.anchor is not None and \
            len(_top_level(pattern.pattern) or ()) >= SHORT_GATE_ALTERNATIVES

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        if self.short and len(text) < GATED_FROM:
            return next(_short_finditer(self.pattern_object, self.anchor, text, pos), None)
        return search(self.pattern_object, self.anchor, text, pos, GATED_FROM)

    def search_within(self, piece: str, whole: str, lo: int,
                      pos: int = 0) -> re.Match[str] | None:
        """`search(piece, pos)` for `piece` = `whole[lo:lo + len(piece)]` cut at word
        boundaries (a clause), tried only where the whole text's index has an allowed word
        start in it: no scan of the piece, no index of its own."""
        if self.anchor is None or len(whole) < GATE_FROM:
            return self.search(piece, pos)
        starts, hi = _starts(self.anchor, whole), lo + len(piece)
        for i in range(bisect_left(starts, lo + pos), len(starts)):
            if starts[i] >= hi:
                break
            m = self.pattern_object.match(piece, starts[i] - lo)
            if m:
                return m
        return None

    def sub(self, repl: str | Callable[[re.Match[str]], str], text: str) -> str:
        if self.short and len(text) < GATED_FROM:
            out, last = [], 0
            for m in _short_finditer(self.pattern_object, self.anchor, text):
                out += [text[last:m.start()], repl(m) if callable(repl) else m.expand(repl)]
                last = m.end()
            return "".join(out) + text[last:]
        return sub(self.pattern_object, self.anchor, repl, text, GATED_FROM)

    def __getattr__(self, name: str):  # noqa: ANN204 (findall, finditer, pattern, ...)
        return getattr(self.pattern_object, name)
