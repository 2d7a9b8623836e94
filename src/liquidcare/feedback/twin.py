"""The digital twin of a cared person: its fields, their validation, and the system prompt.

A twin is given as a plain dict (from the command line, the HTTP API or a test). Unknown keys are
refused rather than dropped, so that a misspelt "medication" never silently loses a person's pills.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .errors import ValidationError

LANGUAGES = ("en", "es")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# Fields a caller may set; `id`, `version` and the timestamps belong to the store.
FIELDS = (
    "name", "age", "language", "conditions", "medications", "routines", "preferences", "carers",
    "emergency_contact", "notes", "person_user_id",
)


def _str_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError(f"twin field {key!r} must be a list of non-empty strings")
    return [v.strip() for v in value]


def _medication(i: int, med: Any) -> dict[str, Any]:
    where = f"twin field medications[{i}]"
    if not isinstance(med, dict):
        raise ValidationError(f"{where} must be an object with name, dose and schedule")
    unknown = set(med) - {"name", "dose", "schedule", "notes"}
    if unknown:
        raise ValidationError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    name = med.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{where}.name is required (a non-empty string)")
    schedule = med.get("schedule", [])
    if not isinstance(schedule, list) or not all(
        isinstance(t, str) and _TIME.match(t) for t in schedule
    ):
        raise ValidationError(f"{where}.schedule must be a list of times like '08:00'")
    out: dict[str, Any] = {"name": name.strip(), "schedule": sorted(schedule)}
    for key in ("dose", "notes"):
        if key in med:
            if not isinstance(med[key], str):
                raise ValidationError(f"{where}.{key} must be a string")
            out[key] = med[key]
    return out


def _contact(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(f"twin field {key!r} must be an object of strings (name, phone, ...)")
    unknown = set(value) - {"name", "phone", "relation", "email"}
    if unknown:
        raise ValidationError(f"twin field {key!r} has unknown keys: {', '.join(sorted(unknown))}")
    if not value.get("name"):
        raise ValidationError(f"twin field {key!r} needs a name")
    return dict(value)


def validate_twin_fields(data: Any, *, partial: bool) -> dict[str, Any]:
    """Checks and normalises twin fields; `partial` for an update (only the given keys)."""
    if not isinstance(data, dict):
        raise ValidationError("a twin must be given as an object of fields")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError(
            f"unknown twin field(s): {', '.join(sorted(unknown))} (known: {', '.join(FIELDS)})"
        )
    if not partial:
        for key in ("name", "language"):
            if key not in data:
                raise ValidationError(f"twin field {key!r} is required")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "name":
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise ValidationError("twin field 'name' must be a non-empty string (<= 200)")
            out[key] = value.strip()
        elif key == "age":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 130
            ):
                raise ValidationError("twin field 'age' must be a whole number from 0 to 130")
            out[key] = value
        elif key == "language":
            if value not in LANGUAGES:
                raise ValidationError(f"twin field 'language' must be one of {LANGUAGES}")
            out[key] = value
        elif key in ("conditions", "routines", "preferences"):
            out[key] = _str_list(key, value)
        elif key == "medications":
            if not isinstance(value, list):
                raise ValidationError("twin field 'medications' must be a list")
            out[key] = [_medication(i, m) for i, m in enumerate(value)]
        elif key == "carers":
            if not isinstance(value, list):
                raise ValidationError("twin field 'carers' must be a list")
            out[key] = [_contact(f"carers[{i}]", c) for i, c in enumerate(value)]
        elif key == "emergency_contact":
            out[key] = None if value is None else _contact(key, value)
        elif key == "notes":
            if not isinstance(value, str):
                raise ValidationError("twin field 'notes' must be a string")
            out[key] = value
        elif key == "person_user_id":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError("twin field 'person_user_id' must be a user id")
            out[key] = value
    return out


_PROMPT = {
    "en": {
        "intro": "You are a kind, patient care assistant talking with {name}{age}.",
        "age": ", aged {age}",
        "conditions": "Health conditions",
        "medications": "Medications",
        "at": "at",
        "routines": "Daily routines",
        "preferences": "Preferences",
        "carers": "Carers",
        "emergency": "Emergency contact",
        "rules": (
            "Speak simply and warmly, in short sentences, in English. Remind {name} of medicines "
            "at their times but never change a dose or give a diagnosis: you are not a doctor. "
            "If {name} mentions a fall, chest pain, trouble breathing or wanting to die, tell "
            "them to call 112 now and to contact {contact}."
        ),
        "nobody": "their carer",
    },
    "es": {
        "intro": "Eres un asistente de cuidados amable y paciente que habla con {name}{age}.",
        "age": ", de {age} años",
        "conditions": "Problemas de salud",
        "medications": "Medicación",
        "at": "a las",
        "routines": "Rutinas diarias",
        "preferences": "Preferencias",
        "carers": "Cuidadores",
        "emergency": "Contacto de emergencia",
        "rules": (
            "Habla con sencillez y cariño, con frases cortas, en español. Recuerda a {name} sus "
            "medicinas a su hora, pero nunca cambies una dosis ni des un diagnóstico: no eres "
            "médico. Si {name} habla de una caída, dolor en el pecho, dificultad para respirar o "
            "ganas de morir, dile que llame al 112 ahora y que avise a {contact}."
        ),
        "nobody": "su cuidador",
    },
}


def _who(contact: dict[str, str]) -> str:
    extra = ", ".join(contact[k] for k in ("relation", "phone") if contact.get(k))
    return f"{contact['name']} ({extra})" if extra else contact["name"]


@dataclass
class Twin:
    """A snapshot of a twin as read from the store (changing it changes nothing stored)."""

    id: int
    name: str
    language: str
    age: int | None = None
    conditions: list[str] = field(default_factory=list)
    medications: list[dict[str, Any]] = field(default_factory=list)
    routines: list[str] = field(default_factory=list)
    preferences: list[str] = field(default_factory=list)
    carers: list[dict[str, str]] = field(default_factory=list)
    emergency_contact: dict[str, str] | None = None
    notes: str = ""
    person_user_id: int | None = None
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created_at", "updated_at"):
            out[key] = out[key].isoformat() + "Z" if out[key] else None
        return out

    def system_prompt(self) -> str:
        """The chatbot's system prompt for this person, in the person's language."""
        t = _PROMPT[self.language]
        age = t["age"].format(age=self.age) if self.age is not None else ""
        lines = [t["intro"].format(name=self.name, age=age)]
        if self.conditions:
            lines.append(f"{t['conditions']}: {'; '.join(self.conditions)}.")
        if self.medications:
            meds = []
            for m in self.medications:
                text = m["name"] + (f" {m['dose']}" if m.get("dose") else "")
                if m.get("schedule"):
                    text += f" {t['at']} {', '.join(m['schedule'])}"
                meds.append(text)
            lines.append(f"{t['medications']}: {'; '.join(meds)}.")
        if self.routines:
            lines.append(f"{t['routines']}: {'; '.join(self.routines)}.")
        if self.preferences:
            lines.append(f"{t['preferences']}: {'; '.join(self.preferences)}.")
        if self.carers:
            lines.append(f"{t['carers']}: {'; '.join(_who(c) for c in self.carers)}.")
        if self.emergency_contact:
            lines.append(f"{t['emergency']}: {_who(self.emergency_contact)}.")
        contact = (
            self.emergency_contact["name"] if self.emergency_contact
            else self.carers[0]["name"] if self.carers else t["nobody"]
        )
        lines.append(t["rules"].format(name=self.name, contact=contact))
        return "\n".join(lines)
