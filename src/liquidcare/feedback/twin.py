"""The digital twin of a cared person: its fields, their validation (pydantic models), and the
system prompt.

A twin is given as a plain dict (from the command line, the HTTP API or a test). Unknown keys are
refused rather than dropped, so that a misspelt "medication" never silently loses a person's pills.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from .errors import ValidationError

LANGUAGES = ("en", "es")

# Fields a caller may set; `id`, `version` and the timestamps belong to the store.
FIELDS = (
    "name", "age", "language", "conditions", "medications", "routines", "preferences", "carers",
    "emergency_contact", "notes", "person_user_id",
)


class _Strict(BaseModel):
    # No coercion ("85" is not an age, "true" is not a list) and no unknown keys: a misspelt
    # field is an error naming it, never silently dropped.
    model_config = ConfigDict(extra="forbid", strict=True)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Time = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Medication(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    dose: str = ""
    schedule: list[Time] = []
    notes: str = ""


class Contact(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    phone: str = ""
    relation: str = ""
    email: str = ""


class TwinFields(_Strict):
    """The fields of a twin as a caller gives them. Every field has a default only so that an
    update may name a few of them; `validate_twin_fields` checks which are required."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] \
        = ""
    age: Annotated[int, Field(ge=0, le=130)] | None = None
    language: Literal["en", "es"] = "en"
    conditions: list[Text] = []
    medications: list[Medication] = []
    routines: list[Text] = []
    preferences: list[Text] = []
    carers: list[Contact] = []
    emergency_contact: Contact | None = None
    notes: str = ""
    person_user_id: Annotated[int, Field(ge=1, lt=2**63)] | None = None


def _where(loc: tuple[int | str, ...]) -> str:
    """('medications', 0, 'schedule', 1) -> 'medications[0].schedule[1]'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _as_stored(model: BaseModel) -> dict[str, Any]:
    """Only the keys the caller gave (a medication always has a schedule, sorted)."""
    return model.model_dump(exclude_unset=True)


def validate_twin_fields(data: Any, *, partial: bool) -> dict[str, Any]:
    """Checks and normalises twin fields; `partial` for an update (only the given keys).

    Errors are `ValidationError`s naming the field (``twin field 'medications[0].schedule'``);
    the command line adds the file's name."""
    if not isinstance(data, dict):
        raise ValidationError("a twin must be given as an object of fields")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError(
            f"unknown twin field(s): {', '.join(sorted(map(str, unknown)))} "
            f"(known: {', '.join(FIELDS)})"
        )
    if not partial:
        for key in ("name", "language"):
            if key not in data:
                raise ValidationError(f"twin field {key!r} is required")
    try:
        twin = TwinFields.model_validate(data)
    except PydanticValidationError as err:
        problems = [
            f"twin field '{_where(e['loc'])}': {e['msg']}" if e["loc"] else e["msg"]
            for e in err.errors(include_url=False)
        ]
        raise ValidationError("; ".join(problems)) from None
    out: dict[str, Any] = {}
    for key in twin.model_fields_set:
        value = getattr(twin, key)
        if key == "medications":
            out[key] = [{**_as_stored(m), "schedule": sorted(m.schedule)} for m in value]
        elif key == "carers":
            out[key] = [_as_stored(c) for c in value]
        elif key == "emergency_contact":
            out[key] = None if value is None else _as_stored(value)
        else:
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
            "them to call {number} now and to contact {contact}; for urgent advice that is not "
            "an emergency, call {urgent}."
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
            "ganas de morir, dile que llame al {number} ahora y que avise a {contact}; para una "
            "consulta urgente que no sea una emergencia, que llame a {urgent}."
        ),
        "nobody": "su cuidador",
    },
}


# The numbers of the twin's locale (English is the UK, Spanish is Spain), as in the safety
# policy's `emergency` section, which the server hands in; these are for callers without one.
# 112 does reach 999 from a UK mobile, but UK guidance names 999 and NHS 111, and a carer
# should hear the number they know.
EMERGENCY_NUMBERS = {
    "en": {"number": "999", "urgent": "NHS 111"},
    "es": {"number": "112", "urgent": "su centro de salud"},
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

    def system_prompt(self, emergency: Mapping[str, str] | None = None) -> str:
        """The chatbot's system prompt for this person, in the person's language. `emergency`:
        the locale's numbers (`number`, `urgent`, as in the safety policy); default
        `EMERGENCY_NUMBERS` for the twin's language."""
        t = _PROMPT[self.language]
        numbers = {**EMERGENCY_NUMBERS[self.language], **(emergency or {})}
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
        lines.append(t["rules"].format(name=self.name, contact=contact,
                                       number=numbers["number"], urgent=numbers["urgent"]))
        return "\n".join(lines)
