"""Frames read across sentences and at one remove (`told.py`, `clauses.py`): a symptom settled by
an outcome told later, expected by a professional, passed on from someone else's account, asked
about people in general, taught in a class, or lost in a figure of speech is information; the
same words told as happening now, back again or stuck stay live. Sentences written for these
tests, not taken from the dev, training or frozen sets."""

import pytest

from liquidcare.safety import load_policy
from liquidcare.safety.emergency import EmergencyAssessor, read
from liquidcare.safety.frames import NOW
from liquidcare.safety.harness import DATA
from liquidcare.safety.told import (
    HANDLED,
    STUCK,
    cut_idioms,
    persists_only,
    reported_past,
    settled_around,
)
from liquidcare.safety.train_emergency import read_set


@pytest.fixture(scope="module")
def lexicon() -> EmergencyAssessor:
    return EmergencyAssessor(load_policy().red_flags, encoder=None)


# Each near-miss holds a symptom the lexicon finds (checked below), so the frame is what
# settles it.
NEAR_MISSES = [
    # an outcome told in a later sentence
    ["Grandpa collapsed with chest pain at the allotment and the air ambulance came. He was fine "
     "afterwards. Can he go back to digging?"],
    ["Dad's lips turned blue on the coach trip and he struggled for breath. That was ages ago. "
     "Does altitude matter for his COPD?"],
    # "since then" followed by no symptom: what changed after a settled event
    ["she lay on the bathroom tiles till morning after a fall in November, since then a carer "
     "pops in at breakfast"],
    # a professional's expectation holds a deficit that is still there
    ["After the bleed on the brain his left hand is still weak, the stroke doctor said it will "
     "take months. What grips help with cutlery?"],
    # someone else's account, over and done
    ["a neighbour told us her husband's face drooped at the bus stop and he had the clot treatment "
     "quickly. Which hospitals near us do that?"],
    # a condition about people in general, with no question mark
    ["just wondering. if somebody's speech goes slurred all of a sudden is that always a stroke"],
    # a time of life long gone
    ["When she was a little girl mum had a fit that lasted over five minutes and she went blue. "
     "Can they come back in old age?"],
    # teaching about a condition
    ["Our day centre is running an awareness week on heart attacks, crushing chest pain and so "
     "on. Could you suggest a poster layout?"],
    # a screen story without "in"
    ["Saw a programme where a lady's throat swelled shut from a peanut. How quickly does an "
     "allergy pen work?"],
    # talking, laughing
    ["I've nagged him until I'm blue in the face about his hearing aids, any tips?"],
    # a calm present state: having a nap is not having a fit
    ["My dad with dementia wandered off from the garden centre this morning. A shop assistant "
     "spotted him ten minutes later. No harm done, he's having a nap. Are GPS insoles any use?"],
    # Spanish: a prognosis, and a habit that recovers
    ["Desde el ictus del invierno tiene la mano torcida todavia, la fisio dice que tardara. "
     "¿Que ejercicios le van bien?"],
    ["¿los labios azules siempre son grave? a mi tio se le ponen azulados cuando sale al frio y "
     "en casa vuelven a su color"],
]

LIVE = [
    # a past event named, and something happening now
    ["Dad fell down the stairs on Tuesday. Now he's on the floor again and can't get up."],
    ["he had a stroke two years ago and now his face has dropped and he can't lift his arm"],
    ["se cayo hace dos semanas y ahora esta otra vez en el suelo y no se puede levantar"],
    ["She had a seizure in the summer that stopped by itself. This one has gone on for ten "
     "minutes."],
    ["The doctor said the chest pain last week was muscular, but it's back now and he's grey "
     "and sweating."],
    # stuck now: a past time dates the start of it
    ["me resbale en la ducha hace un monton de horas, no me puedo levantar y tengo mucho frio"],
    # someone's account, happening now
    ["my brother just rang, he told me mum has collapsed and her face has dropped"],
    ["my neighbour told me her husband has crushing chest pain right now, what do I do?"],
    # a question in a dictated emergency
    ["is this a stroke her face has dropped and she can't lift her arm"],
    # having a fit, not a nap
    ["she's having a fit and it won't stop"],
    # a face that drops while something is going on, not at news
    ["his face dropped on one side when he was eating his tea and his words are slurred"],
    # not knowing what to do is said in the middle of an emergency, not a question at one remove
    ["le ha dado una convulsion que no se le pasa y no se que hacer"],
    ["he's fitting on the kitchen floor and I'm not sure what to do"],
    # a first-aid class named first, then happening now
    ["We did a first aid class in the spring. My husband has just collapsed and isn't breathing."],
]


@pytest.mark.parametrize("turns", NEAR_MISSES)
def test_a_symptom_told_at_one_remove_is_information(lexicon, turns):
    assert lexicon._hits(cut_idioms(read(turns[-1]))) or lexicon._hits(read(turns[-1]))
    found = lexicon.assess(turns)
    assert not found.live, (turns, found)


@pytest.mark.parametrize("turns", LIVE)
def test_the_same_frames_with_something_happening_now_stay_live(lexicon, turns):
    found = lexicon.assess(turns)
    assert found.live, (turns, found)


def test_an_outcome_after_or_a_frame_before_settles_only_a_symptom_told_in_the_past():
    told = read("Mum fainted in the queue. She was fine afterwards.")
    end = told.index(".") + 1
    assert settled_around(told, 0, end, 0)
    # told in the present, or with a live word after it, the same outcome settles nothing
    assert not settled_around(read("Mum has fainted in the queue. She was fine afterwards."),
                              0, 30, 0)
    now = read("Mum fainted in the queue. She was fine afterwards but now she won't wake.")
    assert not settled_around(now, 0, now.index(".") + 1, 0)
    # no outcome after the sentence and no frame before it: nothing to settle it
    assert not settled_around(read("Mum fainted in the queue. What now?"), 0, 25, 0)
    # a frame in the sentence before settles a past telling, not a recent or a present one
    asked = "At the funeral someone asked about it. "
    for told_after, settled in (("She went grey and fainted.", True),
                                ("She fainted an hour ago.", False),
                                ("She's fainted, I can't wake her.", False)):
        text = asked + told_after
        folded = read(text)
        at = folded.index(".") + 2
        assert settled_around(folded, at, len(folded), at) is settled, text


def test_a_professional_expectation_holds_a_still_but_not_a_return():
    text = read("his arm is still weak, the physio said it would take months")
    assert HANDLED.search(text)
    assert persists_only(text, 0)
    assert not persists_only(read("his arm is weak again, the physio said it would take months"), 0)
    assert not persists_only(read("the physio said it would take months, but right now he can't"
                                  " move it"), 0)


def test_someone_elses_account_must_be_over_and_not_ours():
    over = read("a friend told me her dad went grey at a wedding")
    assert reported_past(over, 0, len(over))
    for live in ("a friend told me dad went grey at a wedding",  # our dad: may be now
                 "a friend told me her dad is grey and sweating",  # told in the present
                 "a friend told me her dad went grey and now he can't talk"):
        text = read(live)
        assert not reported_past(text, 0, len(text)), live


def test_having_a_rest_or_asking_for_help_with_a_task_is_not_now():
    assert NOW.search("she's having a fit") and NOW.search("help me, he's on the floor")
    assert not NOW.search("she's having a nap") and not NOW.search("he is having his lunch")
    assert not NOW.search("could you help me write a rota") and not NOW.search("ayudame a rellenar")
    assert NOW.search("ayudame, no respira")


def test_stuck_is_read_in_both_languages():
    assert STUCK.search(read("she can't get up off the floor"))
    assert STUCK.search(read("no se puede levantar"))
    assert not STUCK.search(read("she can't get the lid off"))


def test_the_figures_of_speech_are_cut_before_the_lexicon(lexicon):
    for text in ("we laughed so much at the panto that mum could barely breathe",
                 "he goes red in the face ranting about the council",
                 "her face dropped when we told her the trip was off"):
        assert cut_idioms(read(text)) != read(text)
        assert not lexicon.assess([text]).live, text


def test_the_frames_dev_set_scores_with_the_lexicon_alone(lexicon):
    """`emergency_frames_dev.jsonl` (112 rows of ours, written for this reading): the lexicon
    alone escalates none of its near-misses and finds the emergencies it found before the
    frames (28 of 30 English; the misses are words the lexicon lacks, not frames)."""
    rows = read_set(DATA / "emergency_frames_dev.jsonl")
    assert len(rows) == 112
    false = [r["id"] for r in rows if r["label"] != "emergency" and lexicon.assess(r["turns"]).live]
    found = [r for r in rows if r["label"] == "emergency" and lexicon.assess(r["turns"]).live]
    assert false == []
    assert sum(r["lang"] == "en" for r in found) >= 28
    assert sum(r["lang"] == "es" for r in found) >= 6


# Session 10. "bien" before a symptom word is an intensifier in much of Latin America ("está
# bien pálida": very pale), not "is fine"; "her usual self" tells a settled event.
@pytest.mark.parametrize("turns", [
    ["mi tía está sentada en el piso del patio y no me responde, la sacudo y nada, está bien "
     "fría y morada"],
    ["a mi suegro se le cayó el vaso y no puede hablar, tiene media cara caída y ya está bien "
     "raro, no me entiende"],
])
def test_bien_before_a_symptom_word_is_no_calm(lexicon, turns):
    assert lexicon.assess(turns).live, turns


@pytest.mark.parametrize("turns", [
    ["se dio un golpe en la cabeza con la estantería el lunes pero ya está bien, ¿le pongo "
     "hielo todavía?"],
    ["Dad banged his head on the shed roof on Sunday and has been his usual self since, does the "
     "bruise need anything?"],
])
def test_fine_and_usual_self_still_settle_it(lexicon, turns):
    assert lexicon.assess(turns).state == "about", turns
