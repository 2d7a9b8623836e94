"""The person named as the vetted texts name them, before a search (`knowledge.person`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from liquidcare.knowledge import RetrievalConfig, Retriever, USEEncoder, load_kb
from liquidcare.knowledge.person import neutral_person

FIXTURE = Path(__file__).parent / "data" / "kb"


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("que cambios hago en casa de mi padre para que no se caiga, tiene 84", "es",
     "que cambios hago en casa de la persona para que no se caiga,"),
    ("la abuela tiene 87 años y no come", "es", "la persona y no come"),
    ("mi padre (88) vive solo", "es", "la persona vive solo"),
    ("what changes stop falls, dad is 84 and unsteady", "en",
     "what changes stop falls, the person and unsteady"),
    ("Mum's 91 and she won't drink", "en", "the person and she won't drink"),
])
def test_the_naming_becomes_the_person_and_the_age_goes(text, lang, expected):
    assert neutral_person(text, lang) == expected


@pytest.mark.parametrize(("text", "lang"), [
    ("tiene 39 de fiebre", "es"),  # a temperature, not an age
    ("la tensión: tiene 90 de mínima", "es"),
    ("since my husband died last year", "en"),  # the widowhood passage answers this
    ("her blood pressure is 90", "en"),
    ("mi madre no bebe", "fr"),  # no tables for the language: unchanged
])
def test_what_is_not_the_persons_naming_or_age_is_kept(text, lang):
    assert neutral_person(text, lang) == text


@pytest.mark.parametrize(("languages", "rewritten"), [(("es",), True), ((), False)])
def test_the_search_reads_the_neutral_question_in_the_configured_languages(
        tmp_path, monkeypatch, languages, rewritten):
    r = Retriever(load_kb(FIXTURE), USEEncoder(), config=RetrievalConfig(neutral_person=languages),
                  cache_dir=tmp_path, e5=None)
    read: list[str] = []
    monkeypatch.setattr(r, "_score_all", lambda query, lang, passages: read.append(query) or [])
    r.score_all("mi madre tiene 90 años y no duerme", "es")
    r.score_all("my mum is 90 and does not sleep", "en")
    assert read[0] == ("la persona y no duerme" if rewritten else
                       "mi madre tiene 90 años y no duerme")
    assert read[1] == "my mum is 90 and does not sleep"  # English is searched as typed
