"""The store's tables (SQLAlchemy 2 declarative ORM).

The Alembic migrations under `migrations/versions/` create exactly these tables; a test compares
the migrated schema with this metadata so that the two never drift. Timestamps are naive UTC
(SQLite has no time zones, and one rule for both engines keeps comparisons simple).

Foreign keys that point at a person's data cascade on delete, so that erasing a twin cannot leave
orphans behind even if a new table is added and the erasure code forgets it. The audit log and the
erasure records deliberately have no foreign keys: they must outlive the rows they talk about.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("person", "carer", "clinician", "admin")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ApiKeyRow(Base):
    """Only a salted hash of the secret is kept; `key_id` is the public prefix used to find it."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class TwinRow(Base):
    """The digital twin of a cared person. `version` grows by one on every write (optimistic
    concurrency, see `Store.update_twin`)."""

    __tablename__ = "twins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(2))
    conditions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    medications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    routines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    preferences: Mapped[list[Any]] = mapped_column(JSON, default=list)
    carers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    emergency_contact: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # The person's own account, if they have one: their reads are not audited.
    person_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TwinLinkRow(Base):
    """Which users may see and edit which twin."""

    __tablename__ = "twin_links"
    twin_id: Mapped[int] = mapped_column(
        ForeignKey("twins.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EventRow(Base):
    """One entry on a twin's timeline (a missed dose, a fall, ...)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    twin_id: Mapped[int] = mapped_column(ForeignKey("twins.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(20), default="rule")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConversationRow(Base):
    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    twin_id: Mapped[int | None] = mapped_column(
        ForeignKey("twins.id", ondelete="CASCADE"), nullable=True, index=True
    )
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    messages: Mapped[list[MessageRow]] = relationship(
        order_by="MessageRow.id", cascade="all, delete-orphan", passive_deletes=True
    )


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    # Which weights wrote an assistant reply (`liquidcare.surgery.model_version`).
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Who wrote it: "client" (anything a client sent, history included), "model" (a reply this
    # server generated) or "guard" (a reply the guard wrote or replaced). Only "model" replies
    # are rated and trained on.
    origin: Mapped[str] = mapped_column(String(20), default="client", server_default="client")
    # The exact prompt the model saw for this reply ([{role, content, origin}, ...]).
    prompt: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    # The model's own words when the guard replaced them (kept for audit, never trained on).
    original_content: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RatingRow(Base):
    """One user's thumbs up (+1) or down (-1) on one reply; rating again replaces it."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("message_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class VerdictRow(Base):
    """What a guardrail decided about a user input or a model output."""

    __tablename__ = "guard_verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
    )
    stage: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConsentRow(Base):
    """A consent given by a person (about their twin) or a user (about their own messages) for
    one scope; withdrawing sets `withdrawn_at` (the row stays, as proof of what held when)."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    twin_id: Mapped[int | None] = mapped_column(
        ForeignKey("twins.id", ondelete="CASCADE"), nullable=True, index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scope: Mapped[str] = mapped_column(String(40))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    granted_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    granted_by_role: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    withdrawn_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AdapterRow(Base):
    """A model (adapter) version that was trained on stored messages."""

    __tablename__ = "adapters"
    version: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TrainingExampleRow(Base):
    """Adapter version <-> message it learnt from (the rated reply)."""

    __tablename__ = "training_examples"
    adapter_version: Mapped[str] = mapped_column(
        ForeignKey("adapters.version", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditRow(Base):
    """Append-only: who read or did what about which person, and when. Ids only, never content,
    so the log can outlive an erasure and still show who read the record before it."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    twin_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    object_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ErasureRow(Base):
    """Proof that a person's data was erased: who, when, which kinds and how many rows. Never the
    content, never the name."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    by_role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(Integer)
    kinds: Mapped[dict[str, Any]] = mapped_column(JSON)


class AdapterErasureRow(Base):
    """An adapter version that learnt from data erased since: it still carries that data until it
    is retrained without it."""

    __tablename__ = "adapter_erasures"
    adapter_version: Mapped[str] = mapped_column(
        ForeignKey("adapters.version", ondelete="CASCADE"), primary_key=True
    )
    erasure_id: Mapped[int] = mapped_column(ForeignKey("erasures.id"), primary_key=True)
    examples: Mapped[int] = mapped_column(Integer)
