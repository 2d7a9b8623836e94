"""Text folding and language identification, shared by every room that matches words.

Folding turns a message into the lower-case, accent-free, plain-letter text that rules are
written against: Unicode compatibility forms (full-width letters, ligatures) via NFKC,
invisible characters removed, Cyrillic and Greek look-alikes mapped to Latin letters, curly
apostrophes straightened, accents stripped (people type "cai" as often as "caí"), case folded.

Language identification is `py3langid` (a maintained fork of langid.py, BSD-3, model shipped
in the wheel, no network) restricted to the languages the project speaks. It is weak on one
or two words, so a low-confidence answer gives the caller's default instead of a guess.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Characters that render as nothing (or as a plain space) and are used to break up keywords.
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f"
                              "\u2060\u2061\u2062\u2063\u2064\ufeff"), None)

# Cyrillic and Greek letters that look like Latin ones (NFKC leaves them alone).
LOOKALIKES = "авекмнорстухіјѕԁոɡαβεικνορτυχ"
_LOOKALIKE_MAP = str.maketrans(LOOKALIKES, "abekmhopctyxijsdngabeikvoptux")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"',
                         "\u201d": '"'})
_WS = re.compile(r"\s+")


# The combining-mark blocks (accents, diaereses, tildes once decomposed).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def strip_accents(text: str) -> str:
    """é→e, ñ→n, ü→u: the combining marks of the canonical decomposition dropped."""
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def fold(text: str, collapse: bool = True) -> str:
    """Lower-case plain-letter text: NFKC, no invisible characters, no look-alikes, straight
    apostrophes, no accents. `collapse=False` keeps runs of spaces (they separate words in
    spaced-out text)."""
    # The guard folds the same message several times (its variants, the lexicon, the output
    # check's view of the question); on 8,000 characters of accented text one fold costs
    # milliseconds, so recent results are kept. Very long texts (documents) are not.
    if len(text) > _FOLD_CACHE_CHARS:
        return _fold(text, collapse)
    return _fold_cached(text, collapse)


_FOLD_CACHE_CHARS = 20_000  # at most 128 x 20,000 characters held (~20 MB at worst)


def _fold(text: str, collapse: bool) -> str:
    if collapse:
        # Collapsing the spaces of the stripped text gives what collapsing and then
        # stripping would: a message's two forms share the costly part.
        loose = fold(text, collapse=False)
        return _WS.sub(" ", loose) if collapsible(loose) else loose
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if _INVISIBLE_CHAR.search(text):  # a translate visits every character: only if needed
            text = text.translate(INVISIBLE)
    text = text.lower()
    if not text.isascii():  # the look-alikes and curly quotes are all outside ASCII
        if _LOOKALIKE_CHAR.search(text):
            text = text.translate(_LOOKALIKE_MAP)
        if _CURLY_QUOTE.search(text):
            text = text.translate(_QUOTES)
        text = strip_accents(text)
    return text.strip()


_fold_cached = lru_cache(maxsize=128)(_fold)
_INVISIBLE_CHAR = re.compile("[" + re.escape("".join(map(chr, INVISIBLE))) + "]")
_LOOKALIKE_CHAR = re.compile("[" + re.escape(LOOKALIKES) + "]")
_CURLY_QUOTE = re.compile("[" + re.escape("".join(map(chr, _QUOTES))) + "]")
# Whitespace that `_WS.sub(" ")` would change: a run, or a character other than a space.
_WS_RUN = re.compile(r"\s\s|[^\S ]")
# Every character `\s` matches but the space (str.isspace's, as the regex engine's; a test
# holds the two lists equal): the same question as `_WS_RUN.search`, asked with substring
# searches in C (the regular expression tries two branches at each of 8,000 positions).
OTHER_SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
                "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_ASCII_SPACES = OTHER_SPACES[:9]


def collapsible(text: str) -> bool:
    """Whether `_WS.sub(" ", text)` would change `text`: it holds two whitespace characters in
    a row or one other than the space (any run of two holds "  " or such a one)."""
    if "  " in text:
        return True
    return any(c in text for c in (_ASCII_SPACES if text.isascii() else OTHER_SPACES))


def light_fold(text: str) -> str:
    """Lower case, straight apostrophes, no accents — without NFKC or look-alike mapping, for
    text typed by people rather than by an attacker (the feedback event rules)."""
    return strip_accents(text.translate(_QUOTES).lower())


LANGUAGES = ("en", "es")
# Below this probability (normalised over en/es) the identifier is guessing.
_CONFIDENT = 0.75
_SPANISH_MARKS = re.compile(r"[ñ¿¡]|ci[oó]n(es)?\b|[áéíóú]")


@lru_cache(maxsize=1)
def _identifier():  # noqa: ANN202 (py3langid has no type hints)
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    class _Vectorised(LanguageIdentifier):
        """py3langid's identifier with its byte walk done in numpy (`_walk_counts`): the
        same feature counts in the same order, so the same scores, without a Python step
        per byte (1.6 ms on the 2,000 characters a long message is read by)."""

        def _raw_score(self, text: bytes):  # noqa: ANN202
            visits = _walk_counts(self, text)
            if visits is None:
                return super()._raw_score(text)  # no feature at all: the library's floor
            return self._sparse_score(visits, self.nb_ptc)

    ident = _Vectorised.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGUAGES))
    return ident


@lru_cache(maxsize=1)
def _scanner(ident) -> tuple:  # noqa: ANN001 (py3langid has no type hints)
    """The identifier's byte automaton as numpy arrays, and its depth: the length of the
    longest string a state stands for (the breadth-first distance from the start)."""
    import numpy as np

    moves = np.frombuffer(ident.tk_nextmove, dtype=np.uint32)
    rows = np.asarray(ident._rowbase, dtype=np.int64)  # noqa: SLF001
    output = np.asarray(ident.tk_output, dtype=np.int64)
    depth = np.full(len(rows), -1, dtype=np.int64)
    depth[0], frontier, level = 0, np.zeros(1, dtype=np.int64), 0
    while frontier.size:
        level += 1
        nxt = np.unique(moves[(rows[frontier][:, None] + np.arange(256)).ravel()])
        frontier = nxt[depth[nxt] < 0]
        depth[frontier] = level
    return moves, rows, output, int(depth.max())


def _walk_counts(ident, data: bytes) -> dict[int, int] | None:  # noqa: ANN001
    """What `py3langid.langid.visit_counts` returns for `data` (each feature the walk over
    its bytes outputs, counted, in order of first output), computed for all positions at
    once. The automaton recognises byte strings of at most `depth` bytes, and its state
    after byte i is the longest suffix of the text read so far that begins one of them, so
    it depends only on the last `depth` bytes: the walk from the start over those bytes
    alone reaches it (positions closer to the start walk from the start itself). A test
    holds this against the library's own walk."""
    import numpy as np

    moves, rows, output, depth = _scanner(ident)
    if not isinstance(data, bytes) or not data:
        return None
    letters = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    n = len(letters)
    states = np.zeros(n, dtype=np.int64)
    for k in range(depth):  # step k reads byte i - depth + 1 + k of each window
        lo = max(0, depth - 1 - k)  # windows that start before the text read from the start
        if lo >= n:
            continue
        states[lo:] = moves[rows[states[lo:]] + letters[:n - lo]]  # bytes 0 .. n-lo-1
    found = output[states]
    found = found[found >= 0]
    if not found.size:
        return None
    keys, first, counts = np.unique(found, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    return dict(zip(keys[order].tolist(), counts[order].tolist(), strict=True))


def language_scores(text: str) -> tuple[str, float]:
    """(the likelier of en/es, its probability normalised over the two)."""
    lang, prob = _identifier().classify(text)
    return str(lang), float(prob)


def detect_language(text: str, default: str = "en") -> str:
    """"en" or "es" for a message; `default` when there is nothing to go on or the
    identifier is not confident (one or two words often are not)."""
    if not re.search(r"[^\W\d_]", text):
        return default
    if len(text) > 2000:  # the language of a long message shows in its opening and its end
        text = text[:1000] + " " + text[-1000:]
    lang, prob = language_scores(text)
    # Spanish punctuation and accents are strong evidence on text too short for n-grams.
    if lang == "en" and prob < 0.95 and _SPANISH_MARKS.search(text.lower()):
        return "es"
    return lang if prob >= _CONFIDENT else default


def conversation_language(messages: list[dict], default: str = "en") -> str:
    """The language of the latest user turns (older turns only break a tie)."""
    users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    for text in reversed(users):
        lang = detect_language(text, default="")
        if lang:
            return lang
    return default
