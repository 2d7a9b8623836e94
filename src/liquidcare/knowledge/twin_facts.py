"""What the twin adds to a reply: the person's medicines with their times, conditions, allergies,
routines and recent events, picked for the question at hand.

"Carmen takes metformin 850 mg at 08:00 and 20:00" is worth more to a carer asking about a
forgotten dose than the general rule alone; her routines are noise in that answer. A fact is
relevant when the question (or the passage that answers it) shares a word stem with it, or when
the question is about medicines at all (then every medicine and every allergy counts: an answer
about a missed dose must not forget the other pills).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .text import fold, terms

_MEDICINE_WORDS = {
    "en": ("medic", "pill", "tablet", "dose", "capsule", "insulin", "inhaler", "prescri",
           "pharmac", "crush", "drug", "patch"),
    "es": ("medic", "pastill", "comprimid", "dosis", "capsul", "insulin", "inhalador", "receta",
           "farmac", "triturar", "machac", "parche", "toma"),
}
_FOOD_WORDS = ("food", "eat", "meal", "diet", "comid", "comer", "dieta", "aliment", "allerg",
               "alerg")
# events a question about a topic should bring up (timeline kinds from liquidcare.feedback)
_EVENT_TOPICS = {
    "missed_dose": ("medication", "diabetes"),
    "fall": ("falls", "mobility", "home_safety"),
    "pain": ("pain", "skin"),
    "low_mood": ("mood", "loneliness", "carer_support"),
    "not_drinking": ("hydration", "continence", "infections"),
}
RECENT = timedelta(days=14)

_WORDS = {
    "en": {"takes": "{name} takes {what}.", "at": " at ", "and": " and ",
           "condition": "{name} has {what}.", "allergy": "{name} is allergic to {what}.",
           "routine": "{name}'s routine: {what}.",
           "event": "Noted recently on {name}'s record: {what}."},
    # "tiene pautado", not "toma": the output rules read "toma Sintrom 4 mg" as an instruction
    # to take a dose, and blocked the twin's own prescription when the name was short
    "es": {"takes": "{name} tiene pautado {what}.", "at": " a las ", "and": " y ",
           "condition": "{name} tiene {what}.", "allergy": "{name} tiene alergia a {what}.",
           "routine": "Rutina de {name}: {what}.",
           "event": "Anotado hace poco en la ficha de {name}: {what}."},
}
# A condition recorded as a phrase with its own verb ("has had a stroke", "is registered blind",
# "tiene movilidad reducida") reads wrong after "{name} has" ("has has had a stroke"): such a
# condition gets a sentence of its own, "{name} has had a stroke." (Words as `fold` leaves them.)
_OWN_VERB = {
    "en": ("has", "had", "is", "was", "uses", "needs", "gets", "can", "cannot", "can't",
           "lives", "wears", "takes", "sees"),
    "es": ("tiene", "tuvo", "es", "esta", "fue", "usa", "necesita", "padece", "sufre",
           "lleva", "vive", "puede", "no"),
}
_EVENT_NAMES = {
    "en": {"missed_dose": "a missed dose", "fall": "a fall", "pain": "pain",
           "low_mood": "low mood", "not_drinking": "not drinking enough"},
    "es": {"missed_dose": "una dosis olvidada", "fall": "una caída", "pain": "dolor",
           "low_mood": "ánimo bajo", "not_drinking": "bebe poco"},
}


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _join(items: list[str], lang: str) -> str:
    word = _WORDS[lang]["and"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + word + items[-1]


@dataclass
class TwinFacts:
    """A twin's facts in the shape a reply needs (from a stored `Twin` or a question file)."""

    name: str
    language: str = "en"
    medications: list[tuple[str, str, list[str]]] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)
    routines: list[str] = field(default_factory=list)
    events: list[tuple[str, str, datetime | None]] = field(default_factory=list)

    @classmethod
    def from_twin(cls, twin: Any, events: list[Any] = ()) -> TwinFacts:
        """A `liquidcare.feedback.Twin` (medicine times in `schedule`) or a dict like the
        questions file's (`times`); `events` from `Store.timeline`."""
        meds = []
        for m in _get(twin, "medications", None) or []:
            times = list(_get(m, "schedule", None) or _get(m, "times", None) or [])
            meds.append((str(_get(m, "name", "")), str(_get(m, "dose", "") or ""), times))
        return cls(
            name=str(_get(twin, "name", "")), language=str(_get(twin, "language", "en") or "en"),
            medications=meds,
            conditions=list(_get(twin, "conditions", None) or []),
            allergies=list(_get(twin, "allergies", None) or []),
            routines=list(_get(twin, "routines", None) or []),
            events=[(str(_get(e, "kind", "")), str(_get(e, "evidence", "")), _get(e, "at"))
                    for e in events],
        )

    def medicines_line(self, meds: list[tuple[str, str, list[str]]], lang: str) -> str:
        """All of `meds` in one sentence, those given at the same times together and the groups
        in the order of the day: "Derek takes ramipril 5mg and amlodipine 5mg at 08:00;
        atorvastatin 40mg at 20:00." One sentence per medicine repeated "at 08:00. Derek takes"
        for every morning tablet, which reads as a loop (and is one by the replies benchmark's
        4-gram count) once a person has three of them."""
        w = _WORDS[lang]
        groups: dict[tuple[str, ...], list[str]] = {}
        for name, dose, times in meds:
            groups.setdefault(tuple(times), []).append(f"{name} {dose}".strip())
        # as-needed medicines (no times) last; otherwise by the first time of the day
        order = sorted(groups, key=lambda times: (not times, sorted(times)))
        parts = [_join(groups[times], lang) + (w["at"] + _join(list(times), lang) if times else "")
                 for times in order]
        return w["takes"].format(name=self.name, what="; ".join(parts))

    def relevant(self, question: str, lang: str, topics: tuple[str, ...] = (),
                 context: str = "", now: datetime | None = None) -> list[str]:
        """The facts that bear on `question` (answered by passages on `topics`, whose text is
        `context`), as sentences in `lang`."""
        w = _WORDS[lang]
        q = fold(question)
        q_terms = set(terms(question, lang))
        c_terms = set(terms(context, lang)) if context else set()
        about_medicine = any(s in q for s in _MEDICINE_WORDS[lang]) or "medication" in topics
        lines: list[str] = []
        named = [m for m in self.medications if m[0] and fold(m[0]) in q]
        meds = named or (self.medications if about_medicine else [])
        if meds:
            lines.append(self.medicines_line(meds, lang))
        if self.allergies and (about_medicine or any(s in q for s in _FOOD_WORDS)):
            lines.append(w["allergy"].format(name=self.name, what=_join(self.allergies, lang)))
        conditions = [c for c in self.conditions
                      if set(terms(c, lang)) & (q_terms | c_terms)
                      or any(fold(t) in fold(c) for t in topics)]
        own = [c for c in conditions if fold(c).split(" ", 1)[0] in _OWN_VERB[lang]]
        plain = [c for c in conditions if c not in own]
        if plain:
            lines.append(w["condition"].format(name=self.name, what=_join(plain, lang)))
        lines.extend(f"{self.name} {c.strip().rstrip('.')}." for c in own)
        routines = [r for r in self.routines if set(terms(r, lang)) & q_terms]
        if routines:
            lines.append(w["routine"].format(name=self.name, what="; ".join(routines)))
        now = now or datetime.utcnow()
        names = _EVENT_NAMES[lang]
        recent = [kind for kind, _, at in self.events
                  if (at is None or now - at <= RECENT)
                  and set(_EVENT_TOPICS.get(kind, ())) & set(topics)]
        if recent:
            seen = list(dict.fromkeys(recent))  # each kind once, in order
            lines.append(w["event"].format(name=self.name,
                                           what=_join([names.get(k, k) for k in seen], lang)))
        return lines
