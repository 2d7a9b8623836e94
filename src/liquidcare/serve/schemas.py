"""Request bodies: the OpenAI chat-completions schema (the part we serve) and our own endpoints.

Every model forbids unknown fields, so a misspelt option is a 422 naming it rather than being
ignored; types are strict (JSON `"yes"` is not a boolean, `"2"` is not a number: a client that
sends them has a bug worth hearing about); sizes and numbers are bounded so one request cannot
hold the model (or the memory) hostage, and no number reaches the database or torch outside the
range they hold (a 64-bit SQLite integer, a 32-bit PostgreSQL one, torch's seed).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from .images import FilePart, ImagePart, has_images

MAX_MESSAGES = 64
MAX_CONTENT_CHARS = 8_000
MAX_TOKENS = 1_024
MAX_BODY_BYTES = 256 * 1024
# Store ids are positive and fit a PostgreSQL `integer` (the narrowest id column we run on).
MAX_ID = 2**31 - 1
# `user` and `conversation_id` may arrive as text (OpenAI types `user` as a string): ASCII digits
# only (str.isdigit() also accepts "²" and other digits int() refuses), at most 9 of them, so
# every value the pattern admits is a valid id.
ID_TEXT = r"^[0-9]{1,9}$"
_ID_TEXT = re.compile(ID_TEXT)
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit value


def _digits_only(value: Any) -> Any:
    """A path id as text: ASCII digits only (int() alone also takes ' 12', '+12', '1_000')."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,10}", value):
            raise ValueError("must be a whole number written with the digits 0-9")
        return int(value)
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not a boolean")
    return value


# An id in a path (text by nature): digits only, then bounded.
PathId = Annotated[int, BeforeValidator(_digits_only), Field(ge=1, le=MAX_ID)]
# An id in a JSON body: a JSON number, never a string or a boolean.
BodyId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
IdText = Annotated[str, StringConstraints(pattern=ID_TEXT)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(Strict):
    type: Literal["text"]
    text: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]


class ChatMessage(Strict):
    role: Literal["system", "user", "assistant", "developer"]
    # OpenAI lets content be a string or a list of parts: text, and photos (serve/images.py)
    content: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)] | Annotated[
        list[Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]],
        Field(max_length=64)]
    name: Annotated[str, Field(max_length=64)] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


class StreamOptions(Strict):
    include_usage: bool = False


StopText = Annotated[str, Field(min_length=1, max_length=64)]


class ChatCompletionRequest(Strict):
    model: Annotated[str, Field(max_length=200)] | None = None
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)] | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0, allow_inf_nan=False)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] | None = None
    # OpenAI's repetition controls (-2..2), passed to the engine when it takes them
    frequency_penalty: Annotated[float, Field(ge=-2.0, le=2.0, allow_inf_nan=False)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2.0, le=2.0, allow_inf_nan=False)] | None = None
    n: Annotated[int, Field(ge=1, le=1)] | None = None
    seed: Annotated[int, Field(ge=-MAX_SEED - 1, le=MAX_SEED)] | None = None
    stop: StopText | Annotated[list[StopText], Field(max_length=4)] | None = None
    # the twin this conversation is about (see docs/serve.md: `user` = twin id, as text)
    user: IdText | None = None
    # extension: continue a stored conversation (also accepted as the X-Conversation-Id header)
    conversation_id: BodyId | IdText | None = None

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's (role 'user')")
        if not messages[-1].text().strip() and not has_images(messages[-1:]):
            raise ValueError("the last user message is empty")
        return messages

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # True == 1 in Python: a Literal[1, -1] alone would take it
        raise ValueError("must be 1 or -1, not a boolean")
    return value


class FeedbackRequest(Strict):
    message_id: BodyId
    value: Annotated[Literal[1, -1], BeforeValidator(_not_bool)]
    comment: Annotated[str, Field(max_length=2_000)] | None = None


# -- twins: the fields a caller may set (liquidcare.feedback.twin validates them again, and
# normalises; here they are typed so the OpenAPI schema lists them and a client learns them)
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Time = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Medication(Strict):
    name: ShortText
    dose: Annotated[str, Field(max_length=200)] | None = None
    schedule: Annotated[list[Time], Field(max_length=24)] = []
    notes: Annotated[str, Field(max_length=2_000)] | None = None


class Contact(Strict):
    name: ShortText
    phone: Annotated[str, Field(max_length=50)] | None = None
    relation: Annotated[str, Field(max_length=100)] | None = None
    email: Annotated[str, Field(max_length=200)] | None = None


TextList = Annotated[list[ShortText], Field(max_length=100)]


class TwinChanges(Strict):
    """Fields of a twin that a PATCH may change (only the ones sent change)."""

    name: ShortText | None = None
    age: Annotated[int, Field(ge=0, le=130)] | None = None
    language: Literal["en", "es"] | None = None
    conditions: TextList | None = None
    medications: Annotated[list[Medication], Field(max_length=100)] | None = None
    routines: TextList | None = None
    preferences: TextList | None = None
    carers: Annotated[list[Contact], Field(max_length=20)] | None = None
    emergency_contact: Contact | None = None
    notes: Annotated[str, Field(max_length=4_000)] | None = None
    person_user_id: BodyId | None = None

    def fields(self) -> dict[str, Any]:
        """What the client sent, as the store takes it: unset fields left out (nested contacts
        and medications without their unset keys)."""
        return {k: _without_unset(getattr(self, k)) for k in self.model_fields_set}


def _without_unset(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_unset(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True, mode="json")
    return value


class TwinCreate(TwinChanges):
    """A new twin: `name` and `language` are required."""

    name: ShortText
    language: Literal["en", "es"]


class TwinPatch(Strict):
    expected_version: Annotated[int, Field(strict=True, ge=0, le=MAX_ID)]
    changes: TwinChanges


class ReloadRequest(Strict):
    model: Annotated[str, Field(min_length=1, max_length=500)]
