"""Events a user message reveals about the cared person, found by rules in English and Spanish.

Kinds: ``missed_dose``, ``fall``, ``pain``, ``low_mood``, ``not_drinking``. The rules are regular
expressions over the lower-cased message with accents removed (people type "cai" as often as
"caí"). A rule that names a positive fact ("I fell", "me duele") is skipped when a negation opens
the same clause just before it ("I didn't fall" never matches "fell", but "no me he caído" would
match "me he caido" without the check). Rules that are negative by nature ("not drinking",
"no he tomado la pastilla") carry their negation inside the pattern and are never skipped.

Both languages' rules run on every message: people switch languages, and a false "fall" in the
wrong language costs a carer one glance at the timeline, a missed one may cost much more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from liquidcare.text import light_fold

KINDS = ("missed_dose", "fall", "pain", "low_mood", "not_drinking")

_MEDS_EN = r"(?:pills?|tablets?|medicines?|medication|meds|dose|insulin|inhaler|capsules?)"
_MEDS_ES = (
    r"(?:pastillas?|medicinas?|medicamentos?|medicacion|dosis|insulina|comprimidos?|pildoras?"
    r"|capsulas?|inhalador)"
)

# (kind, pattern, negatable)
_RULES: list[tuple[str, str, bool]] = [
    # --- English
    ("missed_dose", r"\b(?:forgot|forgotten|forget|missed|skipped|ran out of)\b[^.!?;]{0,40}?\b"
     + _MEDS_EN + r"\b", True),
    ("missed_dose", r"(?:didn'?t|did not|haven'?t|have not|hasn'?t|has not|never)\s+(?:taken|take|"
     r"took)\b[^.!?;]{0,30}?\b" + _MEDS_EN + r"\b", False),
    ("missed_dose", r"\b" + _MEDS_EN + r"\b[^.!?;]{0,30}?\b(?:forgot|forgotten|missed|skipped)\b",
     True),
    ("fall", r"\b(?:fell|have fallen|has fallen|had a fall|took a fall|slipped|tripped|"
     r"on the floor and couldn'?t get up)\b", True),
    ("pain", r"\b(?:pain|painful|hurts?|hurting|aches?|aching|sore|headache|backache|"
     r"toothache|stomach ache)\b", True),
    ("low_mood", r"\b(?:sad|lonely|depressed|hopeless|miserable|crying|cried|worthless|unhappy|"
     r"no point in|don'?t want to live|want to die|tired of living)\b", True),
    ("low_mood", r"\bfeel(?:s|ing)?\s+(?:so\s+|very\s+|really\s+)?(?:down|low|blue|empty|alone)\b",
     True),
    ("not_drinking", r"(?:\bnot|n't|\bhardly|\bbarely|\bnever)\s+(?:been\s+)?(?:drinking|drink|"
     r"drunk|drank)\b", False),
    ("not_drinking", r"(?:\bnot|n't)\s+(?:had|have)\s+(?:any|much|enough)?\s*(?:water|fluids?|"
     r"liquids?|anything to drink)\b", False),
    ("not_drinking", r"\b(?:no|not enough|hardly any|barely any|very little)\s+(?:water|fluids?|"
     r"liquids?)\b", False),
    ("not_drinking", r"\bdehydrated\b", False),
    # --- Spanish
    ("missed_dose", r"\b(?:olvide|olvido|olvidado|olvida|se me olvido|se me olvidaron|salte|"
     r"me salte)\b[^.!?;]{0,40}?\b" + _MEDS_ES + r"\b", True),
    ("missed_dose", r"\bno\s+(?:me\s+|se\s+)?(?:he|ha|has|hemos|han)?\s*(?:tomado|tome|tomo|"
     r"tomaba)\b[^.!?;]{0,30}?\b" + _MEDS_ES + r"\b", False),
    ("missed_dose", r"\b" + _MEDS_ES + r"\b[^.!?;]{0,30}?\b(?:olvide|olvido|olvidado|"
     r"olvidaron)\b", True),
    ("fall", r"\b(?:me cai|me he caido|se cayo|se ha caido|me caigo|se cae|una caida|"
     r"me resbale|se resbalo|me tropece|se tropezo|estaba en el suelo)\b", True),
    ("pain", r"\b(?:dolor|dolores|duele|duelen|dolia|dolorido|dolorida|molestias)\b", True),
    ("low_mood", r"\b(?:triste|tristeza|deprimid[oa]|desanimad[oa]|decaid[oa]|sin ganas|"
     r"llorando|llore|llora|no quiero vivir|quiero morir|no tiene sentido|desesperad[oa])\b",
     True),
    ("low_mood", r"\b(?:me siento|se siente|estoy|esta)\s+(?:muy\s+|tan\s+)?(?:sol[oa]|"
     r"abatid[oa]|vaci[oa])\b", True),
    ("not_drinking", r"\b(?:no|apenas|casi no|nunca)\s+(?:he\s+|ha\s+|has\s+|han\s+)?"
     r"(?:bebido|bebe|bebo|bebi|bebio|beben|quiere beber|quiero beber)\b", False),
    ("not_drinking", r"\b(?:deshidratad[oa]|poca agua|nada de agua|pocos liquidos|"
     r"no tiene sed|no tengo sed)\b", False),
]

_COMPILED = [(kind, re.compile(pattern), negatable) for kind, pattern, negatable in _RULES]

# A negation in the few words before a match, within the same clause, cancels a negatable rule.
_NEGATION = re.compile(
    r"(?:\b(?:no|not|never|without|nunca|sin|ningun|ninguna|tampoco|jamas)\b|n't)"
    r"(?:\s+\S+){0,2}\s*$"
)
_CLAUSE_BREAK = re.compile(r"[.!?;,:]|\b(?:but|pero|and then|y luego)\b")


@dataclass(frozen=True)
class DetectedEvent:
    kind: str
    evidence: str  # the words of the message that matched


def normalise(text: str) -> str:
    """Lower case, accents removed, curly apostrophes straightened (`liquidcare.text`)."""
    return light_fold(text)


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 40):start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end():]
    return bool(_NEGATION.search(before))


def extract_events(text: str) -> list[DetectedEvent]:
    """The events a message reveals, at most one per kind, in the order of `KINDS`."""
    norm = normalise(text)
    found: dict[str, str] = {}
    for kind, pattern, negatable in _COMPILED:
        if kind in found:
            continue
        for match in pattern.finditer(norm):
            if negatable and _negated(norm, match.start()):
                continue
            found[kind] = match.group(0).strip()
            break
    return [DetectedEvent(kind, found[kind]) for kind in KINDS if kind in found]
