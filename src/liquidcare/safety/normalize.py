"""Turning a message into the forms an attacker may have hidden an instruction in.

Rules match lower-case ASCII text, so every message is first folded (`liquidcare.text.fold`:
full-width letters, look-alike Cyrillic and Greek letters, accents and invisible characters
all collapse onto plain letters). Then each *decoding* an attacker might rely on the
model to do — base64, leetspeak, letters spaced or dotted apart, ROT13, reversed text — produces
one more variant. A rule that matches any variant matches the message; the variant's name says
which trick was used, so the verdict can tell an obfuscated attack from a plain one.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from liquidcare.text import INVISIBLE, LOOKALIKES, collapsible, fold

from . import wordindex

# Invisible characters, Cyrillic and Greek look-alikes (both cases), full-width forms.
_DISGUISED = re.compile("[" + re.escape("".join(map(chr, INVISIBLE)) + LOOKALIKES
                                        + LOOKALIKES.upper()) + "\uff01-\uff5e]")

# Leetspeak digits and symbols, applied only inside words that also hold letters, so that
# "take 2 tablets" or "call 112" keep their numbers.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"})
# Leet words are the maximal runs of these characters that hold a letter or a symbol (a run
# of digits alone, "112", is a number). Only runs holding a digit or symbol change, so only
# those are visited: one Python call per leet word, not one per word of the message. A run
# is matched from its first character only (the lookbehind), up to its first digit or symbol
# by letters alone: the same runs as `[a-z0-9@$!|+€]*[0-9@$!|+€][a-z0-9@$!|+€]*`, which
# retried every run from each of its characters, backtracking over the rest.
_LEET_RUN = re.compile(r"(?<![a-z0-9@$!|+€])[a-z]*[0-9@$!|+€][a-z0-9@$!|+€]*")

# Single letters separated by spaces, dots, dashes, underscores or stars: "i g n o r e".
_SPACED = re.compile(r"\b(?:[a-z][\s.\-_*/]{1,3}){3,}[a-z]\b")

_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:]?){8,}\b")
_WS = re.compile(r"\s+")
# Whitespace that `_WS.sub(" ")` would change (`liquidcare.text.collapsible` tells whether
# there is any), the runs whole (a run of two or more matches from its first character), so that
# `_WS_CHANGED.sub(" ")` is `_WS.sub(" ")` without an edit for each single space.
_WS_CHANGED = re.compile(r"\s{2,}|[^\S ]")


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 4 or sum(c.isprintable() or c.isspace() for c in text) < 0.95 * len(text):
        return None
    # Decoded binary noise rarely holds words; demand some letters and a space.
    if sum(c.isalpha() for c in text) < 0.6 * len(text.replace(" ", "")) or " " not in text:
        return None
    return text


def decode_base64(text: str) -> list[str]:
    """Every run of base64 in the text that decodes to readable UTF-8."""
    found = []
    for m in _BASE64.finditer(text):
        chunk = m.group(0)
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _printable(raw)
        if decoded:
            found.append(decoded)
    return found


def decode_hex(text: str) -> list[str]:
    found = []
    for m in _HEX.finditer(text):
        try:
            raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(0)))
        except ValueError:
            continue
        decoded = _printable(raw)
        if decoded:
            found.append(decoded)
    return found


_DIGITS_IN_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*\d)\w+\b")
_LEET_CHAR = re.compile(r"[0-9@$!|+€]")


def unleet(folded: str) -> str:
    """Leetspeak undone. When several words mix letters and digits the whole message is leet,
    and lone digits ("17" for "it", "70" for "to") are translated too."""
    if not _LEET_CHAR.search(folded):  # nothing to undo (and no Python call per word)
        return folded
    if _mixed_words(folded) >= 3:
        return folded.translate(_LEET)
    # The runs found from their leet characters (`_leet_runs`), and through `wordindex`: the
    # decoded form's word index is then derived from the folded text's, not built again (a
    # long message's leet form differs in a few words).
    return wordindex.apply(folded, [(a, b, _unleet_text(folded[a:b]))
                                    for a, b in _leet_runs(folded)])


_DIGIT = re.compile(r"\d")
_RUN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!|+€")


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"  # what `\w` matches in a str pattern


def _mixed_words(folded: str) -> int:
    """`len(_DIGITS_IN_WORD.findall(folded))`, the words holding a letter and a digit, found
    from the digits (a few in a long message) instead of trying every word boundary."""
    count, end = 0, -1
    for m in _DIGIT.finditer(folded):
        i = m.start()
        if i < end:  # in the word counted or skipped last
            continue
        start, end = i, m.end()
        while start and _word_char(folded[start - 1]):
            start -= 1
        while end < len(folded) and _word_char(folded[end]):
            end += 1
        count += bool(_LOWER.search(folded, start, end))
    return count


_LOWER = re.compile(r"[a-z]")


def _leet_runs(folded: str) -> list[tuple[int, int]]:
    """The spans `_LEET_RUN.finditer(folded)` gives (the maximal runs of letters, digits and
    leet symbols that hold a digit or symbol), found from those characters."""
    runs: list[tuple[int, int]] = []
    end = -1
    for m in _LEET_CHAR.finditer(folded):
        i = m.start()
        if i < end:
            continue
        start, end = i, i + 1
        while start and folded[start - 1] in _RUN_CHARS:
            start -= 1
        while end < len(folded) and folded[end] in _RUN_CHARS:
            end += 1
        runs.append((start, end))
    return runs


def _unleet_text(run: str) -> str:
    return run if run.isdigit() else run.translate(_LEET)


def _unleet_run(m: re.Match[str]) -> str:
    return _unleet_text(m.group(0))


def disguise(text: str) -> int:
    """How many characters of the raw text hide letters: invisible ones, Cyrillic or Greek
    look-alikes, full-width forms."""
    if text.isascii():  # all three are outside ASCII
        return 0
    # The three sets do not overlap: one count of their union, in C (a loop in Python over
    # 8,000 characters costs milliseconds).
    return len(_DISGUISED.findall(text))


_WORD_BREAK = re.compile(r"\s{2,}|\s*[/|]\s*")


def unspace(folded: str) -> str:
    """Spaced-out letters joined back into words; two or more spaces, or a slash, between
    letters mark the end of a word."""
    def join(m: re.Match[str]) -> str:
        words = _WORD_BREAK.split(m.group(0))
        return " ".join(re.sub(r"[\s.\-_*]", "", w) for w in words)

    # Each step through `wordindex`, so that the word index of the result is derived from
    # the index of the text it came from (as for `unleet`).
    joined = wordindex.sub(_SPACED, join, folded)
    # Spaces collapsed only where there is something to collapse (a pass over 8,000
    # characters costs half a millisecond; the folded text has mostly single spaces): the
    # runs and the lone tabs or newlines, which `_WS.sub(" ")` alone would change.
    if collapsible(joined):
        joined = wordindex.sub(_WS_CHANGED, " ", joined)
    return wordindex.strip(joined)


_REVERSED_WORDS = ("revers", "backwards", "al reves", "invertid", "de atras")


def variants(text: str) -> dict[str, str]:
    """The folded text and every decoding of it worth matching, by the trick's name.

    "plain" is always present; the others appear only when they differ from it.
    """
    plain = fold(text)
    out = {"plain": plain}

    def add(name: str, value: str) -> None:
        value = fold(value)
        if value and value != plain and value not in out.values():
            out[name] = value

    decoded = decode_base64(text)
    if decoded:
        add("base64", " ".join(decoded))
    decoded = decode_hex(text)
    if decoded:
        add("hex", " ".join(decoded))
    loose = fold(text, collapse=False)
    spaced = unspace(loose)
    # Most messages hold no leetspeak: then both decodings are the same text, read once.
    unleeted = unleet(loose)
    add("leetspeak", spaced if unleeted == loose else unspace(unleeted))
    add("spacing", spaced)
    # ROT13 and reversal are cheap but would turn ordinary text into noise that could match by
    # chance, so they are tried only when the message talks about them.
    # (Each alternative opens with a literal: the substring tests, in C, come first.)
    if ("rot" in plain or "cesar" in plain or "caesar" in plain) and \
            re.search(r"rot ?-?13|caesar|cesar", plain):
        add("rot13", codecs.decode(text, "rot13"))
    if any(word in plain for word in _REVERSED_WORDS):  # `revers|backwards|...` searched
        add("reversed", text[::-1])
    return out
