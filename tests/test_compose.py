"""The extractive reply's composition: what it quotes from the later passages."""

from __future__ import annotations

from types import SimpleNamespace

from liquidcare.knowledge.compose import extractive_reply
from liquidcare.knowledge.quality import loops


def _hits(*texts: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(passage=SimpleNamespace(text=t)) for t in texts]


def test_later_passages_add_only_sentences_that_say_something_new():
    # three passages of one topic share a phrase, as the knowledge base's passages do
    shared = "lunch clubs, day centres and community groups"
    hits = _hits(f"Loneliness harms health. Try {shared} near home.",
                 f"Befriending schemes phone every week. Ask about {shared} too.",
                 f"The council lists {shared}. A GP can refer to social prescribing.")
    reply = extractive_reply("Who can help my lonely mum?", "en", hits)
    assert reply.count("community groups") == 1
    assert "Befriending schemes phone every week." in reply
    assert "A GP can refer to social prescribing." in reply
    assert not loops(reply)


def test_the_best_passage_stays_whole_even_when_it_repeats_the_facts():
    facts = ["Carmen takes metformin 850 mg at 08:00 and 20:00."]
    best = "If a dose of metformin 850 mg at 08:00 was missed, take the next one as usual."
    reply = extractive_reply("She missed her metformin", "en",
                             _hits(best, "Take metformin 850 mg at 08:00 with food."), facts)
    assert best in reply
    assert "with food" not in reply  # the second passage's only sentence repeats a 4-gram
