"""The word index of a text (`gate.py` reads it), and the index of a text *derived* from another
by a few edits, built from the other's index instead of from scratch.

A long message is read in several forms: folded, with its leetspeak undone, respelled, with its
idioms cut out. Each form differs from the one it was made from in a few words, yet indexing
8,000 characters from scratch costs ~2 ms. A form made through `sub` (or `record`) remembers
how it was made (its base text and the edits), and its index is then the base's words before,
between and after the edits, shifted, plus the words of the edited stretches split anew: the
same index, a test holds it equal to one built from scratch.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate, chain

_SPLIT = re.compile(r"(\w+)")  # words at the odd places, what lies between at the even
_MAX_PREFIX = 16
# Texts shorter than this are never indexed (`gate.GATE_FROM`), so their making is not kept.
INDEX_FROM = 1500
_KEEP = 64  # indexes (and recipes) kept: a message's forms, and the pieces the frames read

Edit = tuple[int, int, str]  # text[start:end] replaced by the string


class _Index:
    """One text's words: where each starts, the distinct ones in order (for prefixes), every
    prefix they begin with (up to `_MAX_PREFIX` letters) and each whole word as "word$", and
    a memo of the starts found for each anchor set (the lexicon tries the same patterns on
    the same message several times: its rules, their symptoms, the spans for framing)."""

    __slots__ = ("words", "pos", "at", "keys", "prefixes", "memo")

    def __init__(self, text: str | None, words: list[str] | None = None,
                 pos: list[int] | None = None) -> None:
        if text is not None:
            # One split in C and the offsets summed in C: no Python call per word.
            parts = _SPLIT.split(text)
            offsets = list(accumulate(map(len, parts), initial=0))  # one more than parts
            words, pos = parts[1::2], offsets[1:-1:2]
        assert words is not None and pos is not None
        self.words, self.pos = words, pos
        at: dict[str, list[int]] = {}
        for word, p in zip(words, pos, strict=True):
            if word in at:
                at[word].append(p)
            else:
                at[word] = [p]
        self.at = at
        self.keys = sorted(at)
        # "Can this pattern match at all?" is then one set operation in C per pattern.
        self.prefixes = set(chain.from_iterable(map(_prefixes_of, at)))
        self.memo: dict[frozenset[str], list[int]] = {}

    def starts(self, anchor: frozenset[str]) -> list[int]:
        """Where a word that `anchor` allows (a prefix, or "word$" exactly) starts, in order
        (memoised per anchor set)."""
        found = self.memo.get(anchor)
        if found is None:
            at = self.at
            # The distinct words first (two prefixes may allow the same word): each start is
            # then one word's, and the starts are joined and sorted in C.
            words = {w for a in anchor & self.prefixes for w in self._words_with(a)}
            found = self.memo[anchor] = sorted(chain.from_iterable(at[w] for w in words))
        return found

    def _words_with(self, anchor: str) -> list[str]:
        """The distinct words of the text that `anchor` allows."""
        if anchor.endswith("$"):
            return [anchor[:-1]]
        keys = self.keys
        i = j = bisect_left(keys, anchor)
        while j < len(keys) and keys[j].startswith(anchor):
            j += 1
        return keys[i:j]


@lru_cache(maxsize=1 << 16)
def _prefixes_of(word: str) -> tuple[str, ...]:
    """A word's prefixes (up to `_MAX_PREFIX` letters) and the word as "word$": computed once
    per word of the vocabulary, not once per occurrence in each message."""
    return (*(word[:n] for n in range(1, min(len(word), _MAX_PREFIX) + 1)), word + "$")


def _stretches(base: _Index, text: str, edits: list[Edit]) -> list[list]:
    """The edits (sorted, not overlapping) widened to the words of `text` they touch (a
    replacement can join or split the words at its ends), those that touch merged: [start,
    end of its last edit, the new text up to there, end] in `text`'s offsets. Outside them
    the words of the edited text are `text`'s own; inside they are split anew."""
    words, pos = base.words, base.pos
    regions: list[list] = []  # [start, end of its last edit, new text up to there, end]
    for a, b, repl in edits:
        i = bisect_left(pos, a) - 1  # the last word starting before the edit
        lo = pos[i] if i >= 0 and pos[i] + len(words[i]) >= a else a
        j = bisect_right(pos, b) - 1  # the last word starting at or before its end
        hi = pos[j] + len(words[j]) if j >= 0 and pos[j] + len(words[j]) > b else b
        hi = max(hi, b)
        if regions and lo <= regions[-1][3]:  # touches the stretch before: one stretch
            last = regions[-1]
            last[2] += text[last[1]:a] + repl
            last[1], last[3] = b, hi
        else:
            regions.append([lo, b, text[lo:a] + repl, hi])
    for region in regions:  # the stretch's whole new text
        region[2] += text[region[1]:region[3]]
    return regions


def derive(base: _Index, text: str, edits: list[Edit]) -> _Index:
    """The index of `text` with `edits` applied, in full, from `base`, the index of `text`:
    the base's words outside the edited stretches (moved by what the stretches before them
    added or removed), and the stretches' words."""
    words, pos = base.words, base.pos
    new_words: list[str] = []
    new_pos: list[int] = []
    k, shift = 0, 0
    for lo, _, segment, hi in _stretches(base, text, edits):
        first = bisect_left(pos, lo, k)
        new_words += words[k:first]
        new_pos += [p + shift for p in pos[k:first]]
        parts = _SPLIT.split(segment)
        offsets = accumulate(map(len, parts), initial=lo + shift)
        new_words += parts[1::2]
        new_pos += list(offsets)[1:-1:2]
        shift += len(segment) - (hi - lo)
        k = bisect_left(pos, hi, first)
    new_words += words[k:]
    new_pos += [p + shift for p in pos[k:]]
    return _Index(None, new_words, new_pos)


class _Derived:
    """The index of a text made from a base text by a few edits, answered from the base's
    index: a word's starts are the base's outside the edited stretches, moved, and those of
    the stretches' own words. Building it costs a split of the stretches, not of the text.
    `prefixes` may hold prefixes of words the edits removed: "can this pattern match" may
    then say yes where it cannot, and `starts` finds no such word, so a search still finds
    exactly what it would (only the exact answers, `starts` and the full `at`, matter)."""

    __slots__ = ("base", "text", "edits", "los", "his", "shifts", "own", "prefixes", "memo",
                 "_full")

    def __init__(self, base: _Index | _Derived, text: str, edits: list[Edit]) -> None:
        full = base.full() if isinstance(base, _Derived) else base
        self.base, self.text, self.edits = full, text, edits
        self.los: list[int] = []
        self.his: list[int] = []
        self.shifts: list[int] = []  # what the stretches up to and including each add
        self.own: list[tuple[str, int]] = []  # the stretches' words, at their new offsets
        shift = 0
        for lo, _, segment, hi in _stretches(full, text, edits):
            parts = _SPLIT.split(segment)
            offsets = list(accumulate(map(len, parts), initial=lo + shift))
            self.own += zip(parts[1::2], offsets[1:-1:2], strict=True)
            shift += len(segment) - (hi - lo)
            self.los.append(lo)
            self.his.append(hi)
            self.shifts.append(shift)
        self.prefixes = full.prefixes.union(*(_prefixes_of(w) for w, _ in self.own))
        self.memo: dict[frozenset[str], list[int]] = {}
        self._full: _Index | None = None

    def starts(self, anchor: frozenset[str]) -> list[int]:
        found = self.memo.get(anchor)
        if found is None:
            base = self.base.starts(anchor)
            # The base's starts before the first stretch as they are, those between stretch r
            # and the next moved by what the stretches up to r add, those inside a stretch
            # dropped: one slice per stretch (bisected), not a bisection per start.
            moved = base[:bisect_left(base, self.los[0])] if self.los else list(base)
            for r, (hi, shift) in enumerate(zip(self.his, self.shifts, strict=True)):
                lo_next = self.los[r + 1] if r + 1 < len(self.los) else None
                i = bisect_left(base, hi)
                j = bisect_left(base, lo_next) if lo_next is not None else len(base)
                moved += [p + shift for p in base[i:j]] if shift else base[i:j]
            moved += [p for w, p in self.own if not anchor.isdisjoint(_prefixes_of(w))]
            found = self.memo[anchor] = sorted(moved)
        return found

    def full(self) -> _Index:
        """The index written out in full (what `at`, `keys`, `words` read)."""
        if self._full is None:
            self._full = derive(self.base, self.text, self.edits)
        return self._full

    @property
    def at(self) -> dict[str, list[int]]:
        return self.full().at

    @property
    def keys(self) -> list[str]:
        return self.full().keys


class _Indexes:
    """The recent texts' indexes, and how recent derived texts were made; `cache_clear` as an
    `lru_cache` has it (the latency benchmark empties the per-text memos). Thread-safe: a
    dict's get is atomic, the changes are made under the lock."""

    def __init__(self) -> None:
        self._built: OrderedDict[str, _Index | _Derived] = OrderedDict()
        self._made: OrderedDict[str, tuple[str, list[Edit]]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> _Index | _Derived:
        # A hit takes no lock and keeps the order (the oldest is dropped first): the gate
        # asks a thousand times per long message, a message's forms are a handful of the 64.
        found = self._built.get(text)
        if found is not None:
            return found
        with self._lock:
            recipe = self._made.get(text)
        if recipe is not None:
            found = _Derived(self(recipe[0]), recipe[0], recipe[1])
        else:
            found = _Index(text)
        with self._lock:
            self._built[text] = found
            if len(self._built) > _KEEP:
                self._built.popitem(last=False)
        return found

    def made(self, text: str, base: str, edits: list[Edit]) -> None:
        """Remember that `text` is `base` with `edits` applied (kept only for long texts)."""
        if len(text) < INDEX_FROM or len(base) < INDEX_FROM or not edits:
            return
        with self._lock:
            if text not in self._built:
                self._made[text] = (base, edits)
                if len(self._made) > _KEEP:
                    self._made.popitem(last=False)

    def cache_clear(self) -> None:
        with self._lock:
            self._built.clear()
            self._made.clear()


_index = _Indexes()


def sub(pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str],
        text: str) -> str:
    """`pattern.sub(repl, text)` that remembers how the result was made, so that its index
    is derived from `text`'s (for patterns that never match empty)."""
    if len(text) < INDEX_FROM:
        return pattern.sub(repl, text)
    return apply(text, [(m.start(), m.end(), repl(m) if callable(repl) else m.expand(repl))
                        for m in pattern.finditer(text)])


def apply(text: str, edits: list[Edit]) -> str:
    """`text` with `edits` (sorted, not overlapping) applied, remembered for its index."""
    edits = [e for e in edits if text[e[0]:e[1]] != e[2]]
    if not edits:
        return text
    out, last = [], 0
    for a, b, repl in edits:
        out += [text[last:a], repl]
        last = b
    result = "".join(out) + text[last:]
    _index.made(result, text, edits)
    return result


def strip(text: str) -> str:
    """`text.strip()`, remembered for its index."""
    stripped = text.strip()
    if stripped == text or len(text) < INDEX_FROM:
        return stripped
    lead = len(text) - len(text.lstrip())
    return apply(text, [(0, lead, ""), (lead + len(stripped), len(text), "")])
