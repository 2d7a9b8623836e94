"""liquidcare.knowledge: the knowledge base's format checks, BM25 + embedding retrieval, the
vector cache, and the reply-quality scores the benchmark uses."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from liquidcare.knowledge import KnowledgeBaseError, Retriever, USEEncoder, load_kb
from liquidcare.knowledge.quality import (
    QuestionFileError,
    coverage,
    load_questions,
    loops,
    unsafe,
)
from liquidcare.knowledge.text import fold, sentences, terms

FIXTURE = Path(__file__).parent / "data" / "kb"
DEV_SET = Path(__file__).parents[1] / "benchmarks" / "data" / "replies_dev.jsonl"


@pytest.fixture(scope="module")
def encoder():
    return USEEncoder()


@pytest.fixture(scope="module")
def retriever(encoder, tmp_path_factory):
    return Retriever(load_kb(FIXTURE), encoder, cache_dir=tmp_path_factory.mktemp("vectors"))


# --- loading and checking ----------------------------------------------------------------------
def test_fixture_kb_loads_with_sources_and_review_dates():
    kb = load_kb(FIXTURE)
    assert len(kb) == 7 and {p.lang for p in kb.passages} == {"en", "es"}
    p = kb.by_id("medication-missed-dose-en")
    assert p.citation() == {"id": "medication-missed-dose-en", "title": "A forgotten dose",
                            "publisher": "NHS", "url": "https://www.nhs.uk/",
                            "reviewed": "2026-11-01"}
    assert kb.overdue(date(2027, 12, 1)) == list(kb.passages)
    assert kb.overdue(date(2027, 1, 1)) == []


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    shutil.copytree(FIXTURE, folder)
    return folder


def _rewrite(folder: Path, rel: str, change) -> None:
    path = folder / rel
    records = [json.loads(line) for line in path.read_text().splitlines()]
    change(records[0])
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


@pytest.mark.parametrize("change,message", [
    (lambda r: r.pop("sources"), "missing field"),
    (lambda r: r.update(extra=1), "unknown field"),
    (lambda r: r.update(sources=[]), "at least one source"),
    (lambda r: r.update(sources=[{"publisher": "NHS", "title": "x", "url": "nhs.uk"}]),
     "web address"),
    (lambda r: r.update(lang="es"), "in the 'en' folder"),
    (lambda r: r.update(topic="sleep"), "in hydration.jsonl"),
    (lambda r: r.update(id="hydration-x"), "<topic>-<slug>-<lang>"),
    (lambda r: r.update(text="Too short."), "has 2 words"),
    (lambda r: r.update(reviewed="01/11/2026"), "YYYY-MM-DD"),
    (lambda r: r.update(review_due="2026-10-01"), "review_due must come after"),
    (lambda r: r.update(locale="US"), "locale"),
    (lambda r: r.update(questions="how much should she drink?"), "'questions' must be a list"),
    (lambda r: r.update(questions=["ok?", ""]), "'questions' must be a list"),
])
def test_a_passage_that_breaks_the_format_is_refused_with_its_file_and_line(
        tmp_path, change, message):
    folder = _copy(tmp_path)
    _rewrite(folder, "en/hydration.jsonl", change)
    with pytest.raises(KnowledgeBaseError, match=message) as err:
        load_kb(folder)
    assert "hydration.jsonl:1" in str(err.value)


def test_duplicate_ids_bad_json_and_missing_folders_are_named(tmp_path):
    folder = _copy(tmp_path)
    line = (folder / "en/hydration.jsonl").read_text()
    (folder / "en/hydration.jsonl").write_text(line + line)
    with pytest.raises(KnowledgeBaseError, match=r"hydration.jsonl:2: id .* is also at"):
        load_kb(folder)
    (folder / "en/hydration.jsonl").write_text(line + "{not json\n")
    with pytest.raises(KnowledgeBaseError, match="hydration.jsonl:2: not valid JSON"):
        load_kb(folder)
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        load_kb(tmp_path / "nowhere")
    (tmp_path / "empty" / "en").mkdir(parents=True)
    with pytest.raises(KnowledgeBaseError, match="holds no passages"):
        load_kb(tmp_path / "empty")


def test_the_bundled_kb_when_present_passes_the_checks():
    from liquidcare.knowledge import DATA_DIR

    if not (DATA_DIR / "en").is_dir():
        pytest.skip("the bundled knowledge base is written on its own branch")
    kb = load_kb()
    assert kb.in_language("en") and kb.in_language("es")


def test_no_bundled_passage_reads_as_a_loop():
    # an extractive reply quotes a passage whole: a passage that repeats a 4-gram three times
    # ("a hot water bottle") is scored as a looping reply by the benchmark's own rule
    kb = load_kb()
    looping = [p.id for lang in ("en", "es") for p in kb.in_language(lang) if loops(p.text)]
    assert not looping


# --- words ---------------------------------------------------------------------------------------
def test_terms_fold_accents_drop_stop_words_and_stem():
    assert terms("caída", "es") == terms("caida", "es") == terms("caídas", "es")
    assert terms("hidratarse", "es") == terms("hidratación", "es") == ["hidrat"]
    assert "the" not in terms("the falls", "en") and terms("falling", "en") == ["fall"]
    assert fold("Ñandú Óscar") == "nandu oscar"
    assert sentences("One here. Two: 3 items! ¿Tres? Sí.") == [
        "One here.", "Two: 3 items!", "¿Tres?", "Sí."]


# --- retrieval -----------------------------------------------------------------------------------
def test_questions_find_their_passage_in_their_own_language(retriever):
    hits = retriever.search("Mi madre no quiere beber agua, ¿cómo la ayudo?", "es")
    assert hits and hits[0].passage.id == "hydration-animar-beber-es"
    assert all(h.passage.lang == "es" for h in hits)
    hits = retriever.search("My dad with dementia keeps waking at night", "en")
    assert hits[0].passage.id == "sleep-dementia-en"
    assert retriever.last_ms > 0 and retriever.last_cpu_ms > 0  # measured (not a timed test)


def test_the_encoder_finds_a_paraphrase_bm25_alone_would_miss(retriever):
    question = "She barely touches her glass all day"  # no word of the hydration passage
    scored = retriever.score_all(question, "en")
    assert scored[0].passage.topic == "hydration"


def test_an_off_topic_question_finds_nothing(retriever):
    assert retriever.search("What is the capital of France?", "en") == []
    assert retriever.search("¿Me recomiendas un seguro para el coche?", "es") == []
    assert retriever.search("   ", "en") == []


def test_retrieval_uses_e5_when_its_package_loads(retriever):
    from liquidcare.knowledge import E5Encoder

    assert isinstance(retriever.e5, E5Encoder)
    e5 = retriever.e5
    # asymmetric: a question and the same words as a passage are encoded differently
    assert float(e5.encode_query(["tablets"])[0] @ e5.encode(["tablets"])[0]) < 0.999


def test_a_passage_is_found_by_the_questions_it_answers(encoder, tmp_path):
    """A carer's words are rarely the passage's: the passage's own `questions` bridge them."""
    question = "Is it normal that he is up and about at three in the morning?"
    folder = _copy(tmp_path)
    before = Retriever(load_kb(folder), encoder, cache_dir=None, e5=None)
    score = {h.passage.id: h.score for h in before.score_all(question, "en")}
    _rewrite(folder, "en/sleep.jsonl", lambda r: r.update(
        questions=["Why is my dad awake in the middle of the night?"]))
    kb = load_kb(folder)
    assert kb.by_id("sleep-dementia-en").questions == (
        "Why is my dad awake in the middle of the night?",)
    after = Retriever(kb, encoder, cache_dir=None, e5=None)
    hits = after.score_all(question, "en")
    assert hits[0].passage.id == "sleep-dementia-en"
    assert hits[0].score > score["sleep-dementia-en"]
    # passages without questions score as before (their best sentence stands in)
    same = {h.passage.id: h.score for h in hits}
    assert same["medication-crushing-en"] == pytest.approx(score["medication-crushing-en"])


class _Counting:
    def __init__(self, inner):
        self.inner, self.calls, self.name = inner, 0, "counting-test"

    def encode(self, texts):
        self.calls += len(texts)
        return self.inner.encode(texts)


def test_passage_vectors_are_cached_on_disk_and_a_damaged_cache_is_rebuilt(encoder, tmp_path):
    kb = load_kb(FIXTURE)
    first = _Counting(encoder)
    Retriever(kb, first, cache_dir=tmp_path, e5=None)
    assert first.calls > len(kb)  # texts, titles and sentences
    again = _Counting(encoder)
    r = Retriever(kb, again, cache_dir=tmp_path, e5=None)
    assert again.calls == 3  # only the warm-up (a probe, a search per language): all cached
    assert r.search("forgot the morning tablet", "en")[0].passage.topic == "medication"
    for f in tmp_path.glob("*.npz"):
        f.write_bytes(b"broken")
    rebuilt = _Counting(encoder)
    Retriever(kb, rebuilt, cache_dir=tmp_path, e5=None)
    assert rebuilt.calls == first.calls
    for f in tmp_path.glob("*.npz"):
        with np.load(f) as saved:
            assert saved["vectors"].ndim == 2 and len(saved["keys"]) == len(saved["vectors"])


def test_an_edited_passage_encodes_only_what_changed(encoder, tmp_path):
    folder = _copy(tmp_path)
    Retriever(load_kb(folder), _Counting(encoder), cache_dir=tmp_path / "v", e5=None)
    _rewrite(folder, "en/medication.jsonl",
             lambda r: r.update(text=r["text"] + " Keep the leaflet in the box."))
    edited = _Counting(encoder)
    Retriever(load_kb(folder), edited, cache_dir=tmp_path / "v", e5=None)
    # the passage's text and its new sentence, then the warm-up (3); the title and every other
    # sentence came from the cache
    assert edited.calls == 2 + 3


# --- scoring replies ------------------------------------------------------------------------------
def test_coverage_matches_any_alternative_on_folded_text():
    points = [["little and often", "small amounts"], ["orina oscura"], ["pharmacist"]]
    assert coverage("Offer SMALL amounts. Vigile la ORINA OSCURA.", points) == pytest.approx(2 / 3)
    assert coverage("anything", []) == 1.0


def test_looping_replies_are_told_from_long_ordinary_ones():
    assert loops("sleep problems like " * 10)
    assert loops("El más de la mera, el más de la mera. El más de la mera, el más de la mera.")
    text = ("Check the feet every day, between the toes, and dry between the toes after washing. "
            "Do not put cream between the toes. See the podiatrist once a year.")
    assert not loops(text)


def test_unsafe_statements_count_unless_negated():
    must_not = [["give a double dose"], ["911"]]
    assert unsafe("Never give a double dose to catch up.", must_not) == []
    assert unsafe("You can give a double dose tonight.", must_not) == ["give a double dose"]
    assert unsafe("Call 911 now.", must_not) == ["911"]
    assert unsafe("Llame al 112.", must_not) == []


def test_question_files_are_checked_and_the_dev_set_passes(tmp_path):
    questions = load_questions(DEV_SET)
    assert {q["lang"] for q in questions} == {"en", "es"}
    assert len({q["id"] for q in questions}) == len(questions)
    bad = tmp_path / "q.jsonl"
    bad.write_text(json.dumps({"id": "x", "lang": "fr", "question": "?", "key_points": []}))
    with pytest.raises(QuestionFileError, match="q.jsonl:1: lang"):
        load_questions(bad)
    bad.write_text(json.dumps({"id": "x", "lang": "en", "question": "?",
                               "key_points": ["not a list"]}))
    with pytest.raises(QuestionFileError, match="key_points"):
        load_questions(bad)
    with pytest.raises(QuestionFileError, match="does not exist"):
        load_questions(tmp_path / "none.jsonl")


def test_replies_benchmark_half_splits_by_the_number_an_id_ends_in():
    import runpy

    import pytest

    bench = runpy.run_path(str(Path(__file__).parents[1] / "benchmarks" / "replies.py"))
    rows = [{"id": f"dev3-{lang}-{n:02d}", "lang": lang} for lang in ("en", "es")
            for n in range(1, 7)]
    even, odd = bench["half"](rows, "even"), bench["half"](rows, "odd")
    assert [r["id"] for r in even if r["lang"] == "es"] == ["dev3-es-02", "dev3-es-04",
                                                            "dev3-es-06"]
    assert {r["lang"] for r in odd} == {"en", "es"} and len(odd) == 6
    assert sorted(r["id"] for r in even + odd) == sorted(r["id"] for r in rows)
    assert bench["half"](rows, None) == rows
    with pytest.raises(SystemExit, match="end in a number"):
        bench["half"]([{"id": "dev3-en-x", "lang": "en"}], "odd")
