"""The timeline rules, in English and Spanish, with and without negation."""

import pytest

from liquidcare.feedback import extract_events


def kinds(text: str) -> list[str]:
    return [e.kind for e in extract_events(text)]


@pytest.mark.parametrize("text, kind", [
    ("I forgot my pills this morning", "missed_dose"),
    ("She skipped her evening insulin", "missed_dose"),
    ("Dad hasn't taken his tablets today", "missed_dose"),
    ("My medication, I completely forgot it", "missed_dose"),
    ("I fell in the bathroom last night", "fall"),
    ("Mum had a fall on the stairs", "fall"),
    ("My back hurts a lot", "pain"),
    ("I have a terrible headache", "pain"),
    ("I feel so lonely since Tom died", "low_mood"),
    ("I'm feeling really down today", "low_mood"),
    ("I haven't drunk any water today", "not_drinking"),
    ("He is not drinking enough", "not_drinking"),
    ("She seems dehydrated", "not_drinking"),
    # Spanish, with and without accents
    ("Olvidé tomar la pastilla de la mañana", "missed_dose"),
    ("No me he tomado la medicación", "missed_dose"),
    ("Se me olvidaron los comprimidos", "missed_dose"),
    ("Me caí en la cocina", "fall"),
    ("Mi madre se ha caido esta tarde", "fall"),
    ("Me duele mucho la rodilla", "pain"),
    ("Tengo dolor de espalda", "pain"),
    ("Me siento muy sola", "low_mood"),
    ("Estoy triste y sin ganas de nada", "low_mood"),
    ("No ha bebido agua en todo el día", "not_drinking"),
    ("Apenas bebe nada", "not_drinking"),
])
def test_each_rule_fires_in_both_languages(text, kind):
    assert kinds(text) == [kind]


@pytest.mark.parametrize("text", [
    "I didn't fall, I just sat down",
    "No pain today, thank you",
    "I didn't forget my pills",
    "No me he caído, solo me senté",
    "No me duele nada",
    "Hoy he bebido mucha agua",
    "Had a lovely walk and a cup of tea",
    "Hemos dado un paseo y tomado un café",
    "Please sit down and drink some water",
])
def test_negated_or_harmless_messages_raise_nothing(text):
    assert kinds(text) == []


def test_several_events_in_one_message_come_once_each_in_kind_order():
    found = extract_events("Se cayó otra vez, le duele la cadera, no bebe y está triste; "
                           "también se cayó ayer")
    assert [e.kind for e in found] == ["fall", "pain", "low_mood", "not_drinking"]
    assert found[0].evidence == "se cayo"


def test_a_negation_in_another_clause_does_not_cancel():
    assert kinds("No, I fell again") == ["fall"]
    assert kinds("No sé, pero me duele") == ["pain"]
