"""Misspellings of the words the emergency lexicon reads, mapped to the spelling its patterns use.

Someone typing in a hurry writes by ear: in Spanish b/v, ll/y and s/z/c sound alike (seseo in
Latin America and the south of Spain), h is silent, the -ado ending is said and typed "-ao"
("se ha caío", "está tirao"), "ha" loses its h ("se a caido"), and text-speak shortens "que" to
"q"; in English letters double or drop ("unconcious", "siezure"). The text is already folded
(lower case, no accents). Only words that mean one thing either way are mapped: "callo" (went
quiet) becomes "cayo" (fell) only before "al suelo", "en", "de", "por"... where it can only be a
fall. The lexicon and the classifier's cues read the respelled text; the sentence encoder reads
what the person wrote.
"""

from __future__ import annotations

import re

from . import wordindex
from .gate import GATE_FROM, _index

_WORDS: dict[str, str] = {
    # Spanish: text-speak
    "q": "que", "k": "que", "xq": "porque", "pq": "porque", "tb": "tambien", "tmb": "tambien",
    # Spanish: b/v, ll/y, s/z/c, a silent h, misheard clusters
    "pexo": "pecho", "cabesa": "cabeza", "caveza": "cabeza", "corason": "corazon",
    "asucar": "azucar", "desmallo": "desmayo", "desmallado": "desmayado",
    "desmallada": "desmayada", "desmallando": "desmayando", "emorragia": "hemorragia",
    "inchado": "hinchado", "inchada": "hinchada", "inchando": "hinchando", "incha": "hincha",
    "inchan": "hinchan", "inchazon": "hinchazon", "aogando": "ahogando", "aoga": "ahoga",
    "aogo": "ahogo", "bomitando": "vomitando", "bomita": "vomita", "bomito": "vomito",
    "bomitado": "vomitado", "convulcion": "convulsion", "convulcionando": "convulsionando",
    "combulsion": "convulsion", "combulsionando": "convulsionando", "inconciente": "inconsciente",
    "inconsiente": "inconsciente", "alzeimer": "alzheimer", "alzaimer": "alzheimer",
    "alsheimer": "alzheimer", "demensia": "demencia", "anticuagulantes": "anticoagulantes",
    "sintron": "sintrom", "hipoglusemia": "hipoglucemia", "hipoglicemia": "hipoglucemia",
    "diavetico": "diabetico", "diavetica": "diabetica", "ambulansia": "ambulancia",
    "pastiyas": "pastillas", "cuchiyo": "cuchillo",
    # Spanish: -ado said as -ao (Spain, colloquial)
    "tirao": "tirado", "caio": "caido", "desmayao": "desmayado", "tragao": "tragado",
    "ahogao": "ahogado", "quedao": "quedado", "golpeao": "golpeado", "mareao": "mareado",
    "dormio": "dormido", "pasao": "pasado", "tomao": "tomado", "cortao": "cortado",
    # English
    "unconcious": "unconscious", "unconsious": "unconscious", "unconscous": "unconscious",
    "concious": "conscious", "siezure": "seizure", "sezure": "seizure", "seisure": "seizure",
    "siezures": "seizures", "breating": "breathing", "brething": "breathing",
    "breathin": "breathing", "cheast": "chest", "chets": "chest", "strok": "stroke",
    "bleading": "bleeding", "bleedin": "bleeding", "vomitting": "vomiting",
    "vommiting": "vomiting", "diabetc": "diabetic", "diabetik": "diabetic",
    "demetia": "dementia", "dementa": "dementia", "alzhimers": "alzheimers",
    "alzeimers": "alzheimers", "altzheimers": "alzheimers", "anaphalaxis": "anaphylaxis",
    "anafalaxis": "anaphylaxis", "warfrin": "warfarin", "apixiban": "apixaban",
    "collasped": "collapsed", "colapsed": "collapsed", "paracetemol": "paracetamol",
    "sucide": "suicide", "sucidal": "suicidal", "suicidle": "suicidal",
}
_WORD = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True))
                   + r")\b")
# Phrases: a word that is a misspelling only in this company.
_CALLO = re.compile(r"\b(se|me|te|le) callo (?=(al|en|de|por|del|contra|redond[oa]|hacia)\b)")
_HA = re.compile(r"\b(se|me|le|la|lo|te|nos) a (\w+(?:ado|ido|ada|ida|ao|io))\b")


_SPLIT = re.compile(r"\W+")


def respell(text: str) -> str:
    """`text` (folded) with the misspellings above written as the lexicon spells them. The
    word table is searched only when one of its words is in the text (a set lookup on the
    split text costs a tenth of running the alternation over an 8,000-character message)."""
    # A long message's words come from the word gate's index of it, which the lexicon reads
    # next anyway (the same words as the split: runs of \w).
    words = _index(text).at if len(text) >= GATE_FROM else _SPLIT.split(text)
    # Through `wordindex.sub`: the respelled text's word index is derived from the folded
    # text's (a few words differ), not built again.
    if not _WORDS.keys().isdisjoint(words):
        text = wordindex.sub(_WORD, lambda m: _WORDS[m.group(1)], text)
    if " a " in text:
        text = wordindex.sub(_HA, r"\1 ha \2", text)
    if "callo " in text:
        text = wordindex.sub(_CALLO, lambda m: f"{m.group(1)} cayo ", text)
    return text
