# ruff: noqa: E501  (the test sentences stay whole, one a line or two)
"""Session 11's frames (issue 22, false escalation of near-misses): an event handed over to those
who came (an ambulance, paramedics, staff who dealt with it, someone already in hospital), an
event of someone outside the household dated in the past, a fear or worry about what may happen,
a Spanish condition in the present with a conditional after it, a known long-standing symptom,
and settled outcomes worded beyond `PAST` (number words before "ago", "lo vieron en urgencias",
"doing really well"). The same words told as happening now, back or stuck stay live. Sentences
written for these tests, not taken from the dev, training or frozen sets."""

import pytest

from liquidcare.safety import load_policy
from liquidcare.safety.emergency import EmergencyAssessor, read
from liquidcare.safety.frames import FRAMED, told_present
from liquidcare.safety.told import SETTLED, cut_idioms, handed_over


@pytest.fixture(scope="module")
def lexicon() -> EmergencyAssessor:
    return EmergencyAssessor(load_policy().red_flags, encoder=None)


HANDED = [
    "The lady across the road was rushed off in an ambulance on Thursday with crushing chest pain. "
    "Should I offer to feed her cat?",
    "A gentleman in the café collapsed and stopped breathing, a waitress did CPR until the ambulance "
    "crew arrived. How do I find a first aid course?",
    "My uncle's wife had a massive stroke last weekend and she's in intensive care. What do you write "
    "in a card?",
    "un señor se desplomó en la cola de la farmacia y no respiraba, un chico le hizo la reanimación "
    "hasta que llegaron los sanitarios. ¿Dónde aprendo a hacerlo?",
    "A la madre de mi compañera le dio un infarto el domingo y sigue ingresada. ¿Qué le puedo decir?",
]
ELSEWHERE = [
    "A resident on the top corridor had a seizure at breakfast yesterday. Do staff have to tell the "
    "other families?",
    "el otro día una señora resbaló en el autobús y se golpeó la cabeza contra la barra, menudo susto. "
    "¿Hay agarraderas mejores?",
]
WORRY = [
    "I'm terrified she'll have a stroke when I'm at work. Is there a camera that spots it?",
    "My worst nightmare is that he has a heart attack in the shower with the door locked. Should we "
    "take the lock off?",
    "me da miedo que a mi abuela le dé un ictus estando sola en el pueblo. ¿Existe algún aviso?",
    "si a mi madre le da un ictus cuando está sola nadie la encontraría hasta el día siguiente",
]
CHRONIC = [
    "He's always a bit blue around the lips when he walks to the car, the respiratory nurse says "
    "that's his normal. Would a blue badge help?",
    "mi tío siempre se ahoga un poco cuando sube al desván, y la médica dice que es lo suyo con la "
    "EPOC. ¿Le compro un andador?",
]
SETTLED_MORE = [
    "Mum had a heart attack five years ago and she's on a statin. Is grapefruit juice a problem?",
    "A mi abuela le dio un ictus hace siete años. ¿Le pueden poner la vacuna de la gripe?",
    "el jueves se cayó en la cocina y se golpeó la cabeza, la vieron en urgencias y dijeron que no había fractura. "
    "¿Puede ducharse ya?",
    "Dad had a TIA back in the spring, his speech went slurred for ten minutes. Can he still drive?",
    "Grandad had bypass surgery after his heart attack and is doing really well. When can he swim?",
    # a turn to the present that tells nothing of the body
    "she knocked her head on the wardrobe last week but today she is back at her choir",
]


@pytest.mark.parametrize("text", HANDED + ELSEWHERE + WORRY + CHRONIC + SETTLED_MORE)
def test_a_near_miss_told_at_one_remove_is_information(lexicon, text):
    assert lexicon._hits(cut_idioms(read(text))), text  # the lexicon finds a symptom in it
    found = lexicon.assess([text])
    assert not found.live, (text, found)


LIVE = [
    # handed over, but still happening, or happening now
    "The ambulance took him in an hour ago and now his face has dropped on one side",
    "A man has collapsed outside my house and isn't breathing",
    "my neighbour collapsed in the garden and he's not responding",
    "Dad was in hospital last week with chest pain and it's back tonight, worse than before",
    "un hombre se ha desplomado delante de mi portal y no respira",
    # someone else's, recent
    "A lady at the bus stop collapsed a minute ago and she won't wake up",
    # a worry come true; a known symptom that is worse
    "I was always afraid he'd have a fit in the bath and tonight he is, he's fitting and it won't stop",
    # a turn to the present after a settled telling, with a word of the body told now
    "Grandad hit his head on the car door yesterday and seemed okay, but today he's vomiting and "
    "really drowsy",
    "¿es normal que no abra los ojos cuando la llamo? respira pero no consigo que reaccione",
    "He's always a bit breathless but right now he's gasping and his lips are blue",
    "siempre se ahoga un poco, pero ahora mismo no puede respirar y tiene los labios morados",
    "tengo miedo, le duele mucho el pecho y está sudando",
    # dated, then back
    "He had a stroke five years ago and now his face has dropped again and he can't lift his arm",
    # lasting minutes, not years ("lleva así desde hace...")
    "tiene sacudidas en el brazo que no paran, lleva así desde hace diez minutos y no contesta",
]


@pytest.mark.parametrize("text", LIVE)
def test_the_same_frames_told_as_now_stay_live(lexicon, text):
    found = lexicon.assess([text])
    assert found.live, (text, found)


def test_handed_over_needs_the_past_and_nothing_live_after():
    told = read("The man next door was taken off in an ambulance last night with chest pain.")
    assert handed_over(told, 0, len(told))
    for live in ("The man next door is being taken off in an ambulance, he has chest pain now.",
                 "The paramedics arrived but he's still not breathing.",
                 "A man collapsed two minutes ago in the street."):
        text = read(live)
        assert not handed_over(text, 0, len(text)), live


def test_a_worry_or_a_known_symptom_is_framed_but_a_minute_count_is_not():
    for framed in ("i'm frightened she'll fall", "my biggest fear is that he", "me da miedo que",
                   "he's always a bit wheezy", "that's her normal", "lleva asi desde hace anos"):
        assert FRAMED.search(framed), framed
    assert not FRAMED.search("lleva asi desde hace unos 8 minutos")


def test_settled_reads_number_words_and_outcomes_seen_to():
    for settled in ("six weeks ago", "hace seis semanas", "lo vieron en el centro de salud",
                    "dijeron que no habia fractura", "said there was no concussion",
                    "she's doing really well", "esta fenomenal", "back in the summer"):
        assert SETTLED.search(settled), settled


def test_breathing_and_no_consigo_are_told_in_the_present():
    # the veto may settle a lexicon match only where no symptom's sentence is told in the
    # present: "respira pero no consigo que reaccione" is someone's now
    text = read("respira pero no consigo que reaccione")
    assert told_present(text, [(len(text) - 8, len(text))])
    past = read("no reaccionaba al principio")
    assert not told_present(past, [(0, len(past))])
    # someone in general described by a relative clause is not someone's now
    general = read("como se coloca a alguien que respira")
    assert not told_present(general, [(len(general) - 7, len(general))])


def test_and_its_back_is_a_return_but_not_no_ha_vuelto_or_back_home():
    from liquidcare.safety.emergency import _RETURN_AND
    for back in ("he was seen on monday and it's back tonight", "paro el martes y ha vuelto hoy"):
        assert _RETURN_AND.search(back), back
    for gone in ("paro sola y no ha vuelto", "and it's back to normal", "y ha vuelto a casa",
                 "and it's back home"):
        assert not _RETURN_AND.search(gone), gone


def test_is_it_true_that_if_is_a_hypothesis():
    assert FRAMED.search("is it true that if his sugar goes low")
    assert FRAMED.search("es verdad que si se queda azul")


def test_a_habit_sent_home_or_a_treatment_now_is_told_apart():
    from liquidcare.safety.frames import told_apart
    assert FRAMED.search("it passes when he sits still") and FRAMED.search("se le pasa cuando descansa")
    assert SETTLED.search("nos mandaron a casa") and SETTLED.search("they sent us home")
    # a treatment just before "now" is no live "now"; the floor is not a treatment
    assert told_apart(read("her hand went numb for a while in june, it was a tia and she's on aspirin now"), None)
    assert not told_apart(read("he fell in june and he's on the floor now"), None)
