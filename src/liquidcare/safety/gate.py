"""A word gate in front of the regular expressions, so that long messages stay cheap.

Python's regex engine tries a pattern that starts with `\\b(` at every position of the text:
on an 8,000-character message the policy's hundred-odd patterns cost tens of milliseconds.
Most patterns can only match where a word starts with one of a few literal prefixes (the
first word of each alternative: `\\b(chest|pecho)\\b...`, `\\bconvuls\\w*`). `anchors` reads
those prefixes from the pattern's source, conservatively (any construct it does not follow
gives None: always run), and `could_match` skips a pattern when no word of the text starts
with any of them. The result is the same as running every pattern; only the time changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

_LETTERS = re.compile(r"[a-z]+")
_WORD = re.compile(r"\w+")
_MAX_PREFIX = 16
# Texts shorter than this are matched directly: the gate would cost more than it saves.
GATE_FROM = 1500


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


def _literal_start(alt: str) -> str | None:
    """The literal letters an alternative must start with (at least two), or None."""
    m = _LETTERS.match(alt)
    if not m:
        return None
    word, rest = m.group(0), alt[m.end():]
    if rest[:1] in ("?", "*", "{"):
        word = word[:-1]  # the last letter is optional
    return word if len(word) >= 2 else None


def _group_end(source: str) -> int | None:
    return next((i for i, ch, depth in _structure(source) if ch == ")" and depth == 0), None)


def _alt_anchors(alt: str) -> set[str] | None:
    if not alt.startswith("\\b"):
        return None
    body = alt[2:]
    if body.startswith("("):
        end = _group_end(body)
        if end is None or body[end + 1:end + 2] in ("?", "*", "{"):
            return None
        inner = body[1:end]
        if inner.startswith("?:"):
            inner = inner[2:]
        elif inner.startswith("?"):
            return None
        parts = _top_level(inner)
        if not parts:
            return None
        out = set()
        for part in parts:
            word = _literal_start(part)
            if word is None:
                return None
            out.add(word[:_MAX_PREFIX])
        return out
    word = _literal_start(body)
    return {word[:_MAX_PREFIX]} if word else None


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


@lru_cache(maxsize=16)
def prefixes(text: str) -> frozenset[str]:
    """Every prefix (2 to 16 letters) of every word of `text`."""
    out = set()
    for word in set(_WORD.findall(text)):
        for k in range(2, min(len(word), _MAX_PREFIX) + 1):
            out.add(word[:k])
    return frozenset(out)


def could_match(anchor: frozenset[str] | None, text: str) -> bool:
    if anchor is None or len(text) < GATE_FROM:
        return True
    return not anchor.isdisjoint(prefixes(text))
