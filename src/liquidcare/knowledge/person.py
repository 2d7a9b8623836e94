"""Who the carer cares for, said the way the vetted texts say it, before a question is searched.

Why: carers name the person and often their age ("de mi padre, tiene 84"), and the knowledge
base's texts almost never do: they say "la persona" / "the person". A dense encoder reads the
naming as content, so a question about a father's falls at home came closer to the passages
about living together or widowhood (their texts and questions speak of parents) than to the
one on making the house safe. BM25 already leaves the framing words out (`text.framing_terms`);
this does it for E5 and USE too, by rewriting the naming as the texts' own words and dropping an
age. A spouse is kept ("since my husband died" is what the widowhood passage answers), and so
is a number that is not an age ("tiene 39 de fiebre", "her pressure is 90").

Chosen per language on the tuning questions (docs/knowledge.md, "Session 17"): on in Spanish
(`RetrievalConfig.neutral_person`), off in English, where it cost as many key points as it won.
"""

from __future__ import annotations

import re

_OLD = r"(?:[6-9]\d|10\d)"  # an age of the people the project is for: 60 to 109
_RELATIVES = {
    "en": (r"mum|mom|mother|dad|father|nan|nana|nanna|gran|granny|grandma|grandmother|grandad|"
           r"granddad|grandpa|grandfather|aunt|auntie|uncle|mother-in-law|father-in-law"),
    "es": r"madre|padre|mama|mamá|papa|papá|abuela|abuelo|suegra|suegro|tía|tia|tío|tio",
}
_EN, _ES = _RELATIVES["en"], _RELATIVES["es"]
_NAMED = {
    "en": re.compile(r"\b(?:(?:my|our|his|her)\s+(?:(?:elderly|old|poor)\s+)?(?:" + _EN
                     + r")|mum|mom|dad|nan|nana|grandad|grandma|granny)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:(?:mi|mis|nuestra|nuestro)\s+(?:" + _ES
                     + r")|(?:la|el)\s+(?:abuela|abuelo))\b", re.IGNORECASE),
}
_AGE = {
    # "dad is 84", "she's 91", "aged 88": the person stays, the age goes
    "en": re.compile(r"\b(?:(" + _EN + r"|he|she)(?:'s|s|\s+is)|aged)\s+"
                     r"(?:nearly\s+|almost\s+|now\s+)?" + _OLD
                     + r"\b(?:\s*(?:years old|year old|yrs old|yo))?", re.IGNORECASE),
    # "tiene 84", "tiene ya 90 años", but not "tiene 39 de fiebre" (under 60) or "tiene 90 de ..."
    "es": re.compile(r"\btiene\s+(?:ya\s+)?" + _OLD
                     + r"(?:\s*años\b|\b(?!\s*(?:de|grados|mg|°|[,.]\d)))", re.IGNORECASE),
}
_BARE_AGE = re.compile(r"\(\s*" + _OLD + r"\s*\)|\b" + _OLD
                       + r"\s*(?:years old|year old|yrs old|años)\b", re.IGNORECASE)
_PERSON = {"en": "the person", "es": "la persona"}
_SPACES = re.compile(r"[ \t]{2,}")


def neutral_person(text: str, lang: str) -> str:
    """`text` with the person's naming as "the person" / "la persona" and their age left out;
    unchanged in a language without tables."""
    if lang not in _NAMED:
        return text
    text = _AGE[lang].sub(lambda m: (m.group(1) or "") if m.lastindex else "", text)
    text = _BARE_AGE.sub("", text)
    text = _NAMED[lang].sub(_PERSON[lang], text)
    return _SPACES.sub(" ", text).strip()
