"""Plain snapshots the store hands out. They are detached from any database session, so a caller
(the server, a command) can keep and serialise them without holding a connection open."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


class _Record:
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)  # type: ignore[call-overload]
        for key, value in list(out.items()):
            if isinstance(value, datetime):
                out[key] = _iso(value)
        return out


@dataclass
class User(_Record):
    id: int
    name: str
    role: str
    created_at: datetime | None = None


@dataclass
class Message(_Record):
    id: int
    conversation_id: int
    role: str
    content: str
    model_version: str | None = None
    origin: str = "client"  # client | model | guard
    created_at: datetime | None = None


@dataclass
class Conversation(_Record):
    id: int
    user_id: int
    twin_id: int | None
    title: str = ""
    created_at: datetime | None = None
    messages: list[Message] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["messages"] = [m.to_dict() for m in self.messages]
        return out


@dataclass
class Rating(_Record):
    id: int
    message_id: int
    user_id: int
    value: int
    comment: str | None = None
    created_at: datetime | None = None


@dataclass
class Event(_Record):
    id: int
    twin_id: int
    kind: str
    evidence: str
    message_id: int | None
    at: datetime | None = None


@dataclass
class AuditEntry(_Record):
    id: int
    at: datetime
    actor_id: int | None
    actor_role: str
    action: str
    kind: str
    twin_id: int | None
    object_id: int | None


@dataclass
class Erasure(_Record):
    id: int
    at: datetime
    by_user_id: int | None
    by_role: str
    person_id: int
    kinds: dict[str, int]
    # adapter (model) versions trained on the erased data -> how many erased examples each
    models: dict[str, int] = field(default_factory=dict)


@dataclass
class CarriedErasure(_Record):
    """An adapter version that learnt from data erased since it was trained."""

    adapter_version: str
    erasure_id: int
    erased_at: datetime
    examples: int


@dataclass
class Consent(_Record):
    """A person's (twin_id) or a user's (user_id) consent to one scope."""

    id: int
    scope: str
    twin_id: int | None
    user_id: int | None
    granted_at: datetime
    granted_by: int | None
    granted_by_role: str
    note: str = ""
    withdrawn_at: datetime | None = None
    withdrawn_by: int | None = None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None
