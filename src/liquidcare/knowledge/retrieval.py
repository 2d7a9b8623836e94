"""Finding the passages that answer a question: BM25 (bm25s) and two multilingual sentence
encoders, fused.

BM25 catches the exact words of care ("metformin", "sundowning", "úlcera"), the encoders catch
the same thing said in other words ("she won't drink" ~ "dehydration"). Each encoder gives a
passage

    cosine = w_text * cos(q, passage) + w_title * cos(q, title) + w_sent * max_s cos(q, sentence s)
             + w_q * max_j cos(q, question j)

and the passage's score is

    score = w_use * cosine_USE + w_e5 * (cosine_E5 - e5_floor) / (1 - e5_floor)
            + w_bm25 * b / (b + bm25_half)

USE (multilingual Universal Sentence Encoder) was trained for sentence similarity; E5
(multilingual-e5-small) for finding the passage that answers a query, with "query:" and
"passage:" sides, and it ranks the right passage first far more often. Its cosines of unrelated
texts sit around 0.7-0.8, hence the floor that puts it on USE's scale. The sentence term matters:
a question is usually answered by one sentence of a passage that also covers three other things.
The question term compares the carer's question with the questions the passage was written to
answer (its `questions`, in a carer's words: "she won't drink" rather than "fluid intake"); a
passage without any uses its best sentence there.
b is the passage's BM25 score: the saturating map puts it on the encoders' 0..1 scale without
depending on the other passages, so the same number means "relevant" for every question and
`min_score` can say "nothing here answers this" (then the reply says so and points to a
professional instead of inventing). The weights were chosen on the dev questions
(benchmarks/data/replies_dev*.jsonl).

A question is searched in its own language only: the reply quotes what it finds, and it must be in
the asker's language.
"""

from __future__ import annotations

import io
import logging
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from liquidcare.atomic import write_bytes
from liquidcare.e5.threads import blas_limiter

from .encoders import (
    E5Encoder,
    Encoder,
    KnownVectors,
    USEEncoder,
    default_e5,
    encode_query,
    text_key,
)
from .focus import focus, idf_table
from .kb import LANGUAGES, KnowledgeBase, Passage
from .person import neutral_person
from .text import framing_terms, sentences, terms

__all__ = ["E5Encoder", "Encoder", "Hit", "RetrievalConfig", "Retriever", "USEEncoder",
           "default_cache_dir"]


def _load_vectors(path: Path, width: int) -> dict[str, np.ndarray]:
    """A cache file's vectors by text hash; a damaged one (unreadable, cut short, another
    encoder's width, not finite) gives none, so everything is encoded again and the file
    replaced: the cache only ever holds what can be recomputed, so nothing is lost."""
    try:
        with np.load(path, allow_pickle=False) as f:
            keys, vectors = f["keys"], f["vectors"]
        if vectors.ndim != 2 or vectors.shape[1] != width or len(keys) != len(vectors) \
                or not np.isfinite(vectors).all():
            raise ValueError(f"vectors of shape {vectors.shape} for {len(keys)} keys, "
                             f"expected width {width}")
        return dict(zip(keys.tolist(), vectors.astype(np.float32), strict=True))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        log.warning("the vector cache %s is damaged (%s): encoding the knowledge base again "
                    "and replacing it", path, err)
        return {}


def default_cache_dir() -> Path:
    """Where the passages' vectors are kept: under `$LIQUIDCARE_HOME` (default
    ~/.cache/liquidcare), beside the converted models."""
    home = os.environ.get("LIQUIDCARE_HOME")
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "liquidcare"
    return root / "knowledge"


log = logging.getLogger(__name__)


def _words(text: str) -> int:
    """A token count without E5's tokenizer: words."""
    return len(text.split())


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = 3  # passages handed to the reply
    use_weight: float = 0.25  # the three weights of the fused score
    e5_weight: float = 0.6  # (without E5 its weight goes to USE)
    bm25_weight: float = 0.15
    bm25_half: float = 2.0  # the BM25 score that maps to 0.5
    # per encoder: title, best sentence, best question; the rest is the whole passage's cosine
    # (the title adds nothing once the passage's questions are there)
    title_weight: float = 0.0
    sentence_weight: float = 0.3
    question_weight: float = 0.4
    e5_title_weight: float = 0.0
    e5_sentence_weight: float = 0.2
    e5_question_weight: float = 0.4
    e5_floor: float = 0.7  # an E5 cosine at this level means "unrelated"
    # the passages' questions encoded on E5's query side (like the carer's) instead of as
    # passages: tried on dev, no better (en 83% / es 77% of key points against 85% / 78%)
    e5_questions_as_queries: bool = False
    # the most tokens of a question E5 reads (0: all of it): E5 costs ~1 ms of CPU a token, so
    # a long message is cut to its most informative sentences first (`focus`); BM25 still
    # reads all of it
    e5_query_tokens: int = 32
    # the same for USE, counted by E5's tokenizer (by words without E5): USE (~3 ms + 0.025 ms
    # a character) runs on the calling thread beside E5's; 64 tokens (about 250 characters),
    # chosen on the odd half of replies_dev_long, cut its p95 by a third and found more key
    # points than the whole message, the story of a long message being noise to USE too
    # (docs/knowledge.md, "Retrieval latency")
    use_query_tokens: int = 64
    # BM25 leaves out the carer's framing words (session 13): a word in the questions of at
    # least `framing_share` of the passages and `framing_ratio` times as many of them as in the
    # passages' texts ("mum", "dad", "madre", "padre", "¿qué hago?"). Carers name who they care
    # for in most questions, the vetted texts almost never do, so BM25's idf for "madre" was
    # that of a rare care word, and the one passage that says it ("thinks you are her mother")
    # came first for any question about a mother. 0 keeps every word.
    framing_share: float = 0.05
    framing_ratio: float = 4.0
    min_score: float = 0.41  # below this, a passage does not answer the question
    use_only_min_score: float = 0.24  # the same without E5 (USE's cosines run lower)
    # keep a passage after the first only when it scores this close to the best one
    keep_ratio: float = 0.7
    # the languages whose questions name the person as the texts do before a search ("de mi
    # padre, tiene 84" -> "de la persona"; `person.neutral_person`): chosen per language, session 17
    neutral_person: tuple[str, ...] = ("es",)

    def __post_init__(self) -> None:
        if self.framing_share < 0 or self.framing_ratio < 0:
            raise ValueError("framing_share and framing_ratio must be >= 0")
        for name in ("e5_query_tokens", "use_query_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} {getattr(self, name)}: expected 0 (the whole "
                                 "question) or a positive number of tokens")


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    cosine: float
    bm25: float


class Retriever:
    """Search a knowledge base: ``Retriever(kb).search("she won't drink", "en")``.

    `encoder` is USE (also used by the reply composer to pick sentences); `e5` the retrieval
    encoder ("default": E5 when its package loads, None: USE and BM25 only)."""

    def __init__(self, kb: KnowledgeBase, encoder: Encoder | None = None,
                 config: RetrievalConfig | None = None,
                 cache_dir: str | Path | None = "default",
                 e5: Encoder | None | str = "default") -> None:
        import bm25s

        self.kb, self.config = kb, config or RetrievalConfig()
        self.encoder = encoder if encoder is not None else USEEncoder()
        self.e5 = default_e5() if isinstance(e5, str) else e5
        self.cache_dir = default_cache_dir() if cache_dir == "default" else cache_dir
        self._passages: dict[str, list[Passage]] = {}
        self._bm25: dict[str, Any] = {}
        self._starts: dict[str, np.ndarray] = {}
        self._q_starts: dict[str, np.ndarray] = {}
        self._asked: dict[str, np.ndarray] = {}  # which passages have questions
        self._idf: dict[str, dict[str, float]] = {}  # per language: BM25's idf of each term
        self.framing: dict[str, frozenset[str]] = {}  # per language: the terms BM25 leaves out
        # per language and encoder: the vectors of the passage texts, titles, sentences and
        # questions, stacked in that order; `_spans`: (passages, sentences) to cut them apart
        self._vectors: dict[str, list[np.ndarray]] = {}
        self._spans: dict[str, tuple[int, int]] = {}
        self._known: dict[str, dict[str, np.ndarray]] = {}  # per encoder: text hash -> vector
        # an encoder's first call is slow (its graph warms up): pay it here, not in the first
        # question's reply, which is what happens when every vector came from the cache; its
        # width also tells a cache file written by another encoder from a good one
        width = {id(enc): encode_query(enc, ["warm up"]).shape[1] for enc in self._encoders()}
        for lang in LANGUAGES:
            passages = kb.in_language(lang)
            if not passages:
                continue
            docs = [f"{p.title}. {p.text}" for p in passages]
            index = bm25s.BM25()
            index.index([terms(d, lang) for d in docs], show_progress=False)
            self._passages[lang], self._bm25[lang] = passages, index
            self._idf[lang] = idf_table(terms(d, lang) for d in docs)
            self.framing[lang] = framing_terms(passages, lang, self.config.framing_share,
                                               self.config.framing_ratio)
            split = [sentences(p.text) or [p.text] for p in passages]
            # where each passage's sentences start: they are stored passage after passage
            self._starts[lang] = np.cumsum([0] + [len(ss) for ss in split[:-1]])
            # a passage without questions stands in with its own text (cached already); its
            # best sentence then takes the question term (see _cosine)
            asked = [list(p.questions) or [d] for p, d in zip(passages, docs, strict=True)]
            self._q_starts[lang] = np.cumsum([0] + [len(qs) for qs in asked[:-1]])
            self._asked[lang] = np.array([bool(p.questions) for p in passages])
            n, m = len(passages), sum(len(ss) for ss in split)
            stored = docs + [p.title for p in passages] + [s for ss in split for s in ss]
            self._spans[lang] = (n, m)
            # texts, titles, sentences and questions kept as one matrix: a search is then one
            # matrix-vector product per encoder, not four
            self._vectors[lang] = [
                self._stack(enc, stored, [q for qs in asked for q in qs], width[id(enc)])
                for enc in self._encoders()]
        # what the composer scores sentences with: USE, answering from the vectors above
        self.sentence_encoder = KnownVectors(
            self.encoder, self._known.get(getattr(self.encoder, "name", None)
                                          or f"unnamed-{id(self.encoder)}", {}))
        # how long the last search took, wall clock and this thread's CPU time (on a shared,
        # loaded machine the wall clock mostly measures the wait for a core), and its parts
        # (wall ms: bm25, use, e5 - the wait for E5 after USE is done -, score)
        self.last_ms = self.last_cpu_ms = 0.0
        self.last_parts: dict[str, float] = {}
        # BLAS limited to one thread around a search's products: OpenBLAS's second thread
        # wakes in 0.2 ms on an idle machine, but waits up to 18 ms for a core on a busy one
        self._one_blas_thread = blas_limiter()
        # one search per language: its first BM25 call, BLAS limit and E5 call of a real
        # length cost 2-3 times a warm one's, paid here rather than by the first carer
        for lang in self._passages:
            self.score_all("how can I help her at night", lang)

    def _encoders(self) -> list[Encoder]:
        return [self.encoder] + ([self.e5] if self.e5 is not None else [])

    def _stack(self, encoder: Encoder, stored: list[str], questions: list[str],
               width: int) -> np.ndarray:
        """The vectors of the passages' texts then of their questions. An asymmetric encoder
        (E5) reads a stored question as what it is, a query, when `e5_questions_as_queries`:
        E5 compares query with query for similarity, query with passage for answers."""
        if not (self.config.e5_questions_as_queries and hasattr(encoder, "encode_query")):
            return self._encode_cached(encoder, stored + questions, width)
        return np.concatenate([self._encode_cached(encoder, stored, width),
                               self._encode_cached(encoder, questions, width, query=True)])

    def _encode_cached(self, encoder: Encoder, texts: list[str], width: int,
                       query: bool = False) -> np.ndarray:
        """The vectors of `texts`, each encoded once per encoder and text: thousands of
        sentences take half a minute (USE) to several minutes (E5) on a busy laptop CPU,
        loading them a few milliseconds, and a knowledge-base edit encodes only the sentences
        it changed. One file per encoder under `cache_dir`: the texts' hashes and vectors."""
        named = getattr(encoder, "query_name" if query else "name", None)
        name = named or f"unnamed-{id(encoder)}{'-query' if query else ''}"
        known = self._known.get(name, {})
        path = Path(self.cache_dir) / f"{name}.npz" if self.cache_dir is not None else None
        if path is not None and not known and path.is_file():
            known = _load_vectors(path, width)
        self._known[name] = known
        keys = [text_key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True)
                                     if k not in known))
        if missing:
            if len(missing) > 100:
                log.info("encoding %d knowledge-base texts with %s (once; cached in %s)",
                         len(missing), name, self.cache_dir)
            vectors = encode_query(encoder, missing) if query else encoder.encode(missing)
            for text, vector in zip(missing, vectors, strict=True):
                known[text_key(text)] = vector
        if missing and path is not None and named:
            buffer = io.BytesIO()
            np.savez(buffer, keys=np.array(list(known)),
                     vectors=np.stack(list(known.values())).astype(np.float32))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_bytes(path, buffer.getvalue())
            except OSError:
                pass  # a read-only home only costs the next start the encoding time
        return np.stack([known[k] for k in keys]).astype(np.float32)

    def languages(self) -> list[str]:
        return sorted(self._passages)

    def _cosine(self, vectors: np.ndarray, q: np.ndarray, lang: str,
                title_w: float, sentence_w: float, question_w: float) -> np.ndarray:
        n, m = self._spans[lang]
        every = vectors @ q
        texts, titles, sents, questions = every[:n], every[n:2 * n], every[2 * n:2 * n + m], \
            every[2 * n + m:]
        best_sentence = np.maximum.reduceat(sents, self._starts[lang])
        best_question = np.where(self._asked[lang],
                                 np.maximum.reduceat(questions, self._q_starts[lang]),
                                 best_sentence)
        return (1.0 - title_w - sentence_w - question_w) * texts + title_w * titles \
            + sentence_w * best_sentence + question_w * best_question

    def score_all(self, query: str, lang: str) -> list[Hit]:
        """Every passage in `lang`, best first, with its fused and component scores (`cosine`:
        the encoders' part of the score, rescaled to their total weight)."""
        passages = self._passages.get(lang)
        if not passages:
            return []
        query = neutral_person(query, lang) if lang in self.config.neutral_person else query
        with self._one_blas_thread():
            return self._score_all(query, lang, passages)

    def _score_all(self, query: str, lang: str, passages: list[Passage]) -> list[Hit]:
        cfg, parts = self.config, {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            parts[name], clock = (now - clock) * 1000, now

        count = self._counter()
        e5_query = self.e5_query(query, lang, count)
        # E5 encodes on its own thread while USE's focus, BM25 and USE run here
        submit = getattr(self.e5, "submit_query", None)
        cap = cfg.e5_query_tokens or None
        pending = submit([e5_query], max_tokens=cap) if submit is not None else None
        use_query = (e5_query if cfg.use_query_tokens == cfg.e5_query_tokens and count
                     else self.use_query(query, lang, count))
        lap("focus")
        framing = self.framing.get(lang, frozenset())
        bm25 = np.asarray(self._bm25[lang].get_scores(
            [t for t in terms(query, lang) if t not in framing]), dtype=np.float32)
        lap("bm25")
        vectors = self._vectors[lang]
        q_use = encode_query(self.encoder, [use_query])[0]
        lap("use")
        cosine = self._cosine(vectors[0], q_use, lang, cfg.title_weight, cfg.sentence_weight,
                              cfg.question_weight)
        dense_weight = cfg.use_weight + cfg.e5_weight
        if self.e5 is not None:
            q_e5 = (pending.result() if pending is not None
                    else encode_query(self.e5, [e5_query]))[0]
            lap("e5")
            e5 = self._cosine(vectors[1], q_e5, lang, cfg.e5_title_weight,
                              cfg.e5_sentence_weight, cfg.e5_question_weight)
            e5 = (e5 - cfg.e5_floor) / (1.0 - cfg.e5_floor)
            cosine = (cfg.use_weight * cosine + cfg.e5_weight * e5) / dense_weight
        fused = dense_weight * cosine + cfg.bm25_weight * bm25 / (bm25 + cfg.bm25_half)
        order = np.argsort(-fused, kind="stable")
        hits = [Hit(passages[i], float(fused[i]), float(cosine[i]), float(bm25[i]))
                for i in order]
        lap("score")
        self.last_parts = parts
        return hits

    def _counter(self) -> Callable[[str], int] | None:
        """E5's token count, remembered for one search: E5's and USE's focus count the same
        pieces of the message."""
        count = getattr(self.e5, "count_query_tokens", None)
        return None if count is None else lru_cache(maxsize=256)(count)

    def e5_query(self, query: str, lang: str,
                 count: Callable[[str], int] | None = None) -> str:
        """What E5 reads of `query`: all of it when within `e5_query_tokens`, else its most
        informative sentences within that many tokens (`focus`)."""
        count = count or self._counter()
        if not self.config.e5_query_tokens or count is None or lang not in self._idf:
            return query
        return focus(query, lang, self.config.e5_query_tokens, count, self._idf[lang])

    def use_query(self, query: str, lang: str,
                  count: Callable[[str], int] | None = None) -> str:
        """What USE reads of `query`: the same `focus` within `use_query_tokens` (E5 tokens;
        words without E5), all of it when 0."""
        budget = self.config.use_query_tokens
        if not budget or lang not in self._idf:
            return query
        return focus(query, lang, budget, count or self._counter() or _words, self._idf[lang])

    def search(self, query: str, lang: str, k: int | None = None) -> list[Hit]:
        """The passages that answer `query` (at most k, maybe none), best first."""
        start, cpu = time.perf_counter(), time.thread_time()
        k = self.config.k if k is None else k
        ranked = self.score_all(query, lang) if query.strip() else []
        floor = self.config.min_score if self.e5 is not None else self.config.use_only_min_score
        hits: list[Hit] = []
        for hit in ranked[:k]:
            if hit.score < floor:
                break
            if hits and hit.score < hits[0].score * self.config.keep_ratio:
                break
            hits.append(hit)
        self.last_ms = (time.perf_counter() - start) * 1000
        # this thread's CPU time, and E5's on its own thread
        e5_cpu = getattr(self.e5, "last_cpu_s", 0.0) if query.strip() else 0.0
        self.last_cpu_ms = (time.thread_time() - cpu + e5_cpu) * 1000
        return hits
