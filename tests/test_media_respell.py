"""Respelling puts a transcript's non-words back to the common word one sound away, and leaves
every word that could have been meant (common words, expected names, numbers) alone."""

from __future__ import annotations

import importlib.util
import os

import pytest

from liquidcare.media import respell

# Zipf frequencies of a tiny made-up word list: common words ~4-6, rare ones under 2.5
TABLE = {"mañana": 5.5, "autobús": 4.6, "esto": 6.3, "malo": 4.9, "cabello": 4.2,
         "cabelo": 2.4, "casa": 5.8, "cosa": 5.7, "jarabe": 3.4, "jarate": 1.0, "puta": 4.9,
         "paracetamol": 3.0, "pasa": 5.0}


def speller(**kwargs) -> respell.Respeller:
    return respell.Respeller("es", table=TABLE, **kwargs)


def test_a_non_word_one_letter_from_a_common_word_is_put_back():
    fix = speller()
    assert fix.text("Mañara por la mañara.") == "Mañana por la mañana."
    assert fix.text("¿pasa el autolús?") == "¿pasa el autobús?"
    assert fix.word("jarate") == "jarabe"  # t heard for b


def test_words_that_could_be_meant_stay_as_heard():
    fix = speller()
    # common words stay, even with a more common neighbour ("cosa" is a word)
    assert fix.text("esto malo cosa") == "esto malo cosa"
    # numbers, short words and words with no common neighbour stay
    assert fix.text("a las 9 y 10, ayx zzzzqq") == "a las 9 y 10, ayx zzzzqq"
    # a deletion/insertion is no consonant heard as another: "peuta" is not put to "puta"
    assert fix.word("peuta") == "peuta"
    # a vowel is not turned into a consonant, and a letter is not added ("cabelo" stays)
    assert fix.word("maaana") == "maaana"
    assert fix.word("cabelo") == "cabelo"


def test_names_the_caller_expects_are_never_respelled():
    fix = speller(keep=["Furosemida 40 mg", "Carmen"])
    # a name the caller gave, and a word one letter from it (a misheard name: not ours)
    assert fix.text("la furosemida y la furosemide") == "la furosemida y la furosemide"
    assert speller().text("Mañara", keep=["mañara"]) == "Mañara"
    assert speller().text("Mañara") == "Mañana"


def test_an_unknown_language_is_refused_by_name():
    with pytest.raises(ValueError, match="'fr'"):
        respell.Respeller("fr")
    assert respell.respell("bonjour", "fr") == "bonjour"


@pytest.mark.skipif(importlib.util.find_spec("wordfreq") is None
                    and os.environ.get("CI") != "true", reason="wordfreq is not installed")
def test_wordfreq_spanish_list_corrects_a_consonant_and_keeps_inflected_forms():
    said = "¿A qué hora pasa el autolús? Se me olvidó, me apetece, ¿me traes una manta?"
    assert respell.respell(said, "es") == (
        "¿A qué hora pasa el autobús? Se me olvidó, me apetece, ¿me traes una manta?")
