"""The word error normaliser forgives writing conventions (case, accents, punctuation, digits
against number words) and nothing a listener would hear as a different word."""

from __future__ import annotations

import pytest

from liquidcare.media import wer


def test_case_accents_and_punctuation_are_not_errors():
    assert wer.word_errors("¿Qué hora es? Está bien.", "que hora es, esta bien") == (0, 5)
    assert wer.word_errors("Mañana, ¿salimos?", "MANANA salimos") == (0, 2)
    assert wer.normalise("o'clock") == ["o", "clock"]


def test_digits_match_the_number_said_in_words_in_both_languages():
    assert wer.word_errors("Tómate dos pastillas a las nueve.", "Tómate 2 pastillas a las 9.") \
        == (0, 6)
    assert wer.word_errors("I take two tablets at ten", "I take 2 tablets at 10") == (0, 6)
    # a number of several words is one number
    assert wer.normalise("treinta y cinco gotas") == ["35", "gotas"]
    assert wer.normalise("twenty five drops") == ["25", "drops"]
    assert wer.word_errors("treinta y cinco gotas", "35 gotas") == (0, 2)
    assert wer.word_errors("veinticinco", "25") == (0, 1)


def test_a_british_spelling_is_the_american_one_and_nothing_more():
    assert wer.word_errors("the health centre's cooking programme", "the health center's "
                           "cooking program") == (0, 6)
    assert wer.word_errors("my favourite colour", "my favorite color") == (0, 3)
    # only listed pairs: "-our" is no ending to strip ("four", "hour"), "tyre" is not "tire"
    assert wer.word_errors("four hours", "for hors") == (2, 2)
    assert wer.word_errors("a flat tyre", "a flat tire") == (1, 3)


def test_different_words_stay_errors():
    # another number, another spelling of a number word, a word split in two, a missing word
    assert wer.word_errors("dos pastillas", "3 pastillas") == (1, 2)
    assert wer.word_errors("una manta", "uno manta") == (1, 2)
    assert wer.word_errors("tengo el estómago revuelto", "tengo el esto malo revuelto") == (2, 4)
    assert wer.word_errors("me traes una manta", "me trae su amanta") == (3, 4)
    assert wer.word_errors("la dosis de la pastilla", "la pastilla") == (3, 5)
    # "y" between a tens word and something that is not a unit is left as it was said
    assert wer.normalise("treinta y tantos") == ["treinta", "y", "tantos"]


def test_edits_counts_substitutions_insertions_and_deletions():
    assert wer.edits(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert wer.edits(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert wer.edits(["a", "b"], ["a", "b", "c", "d"]) == 2
    assert wer.edits(["a", "b", "c"], []) == 3


def test_a_reference_with_no_word_is_refused_by_name():
    with pytest.raises(ValueError, match="holds no word"):
        wer.word_errors(" ¿? ", "hola")
