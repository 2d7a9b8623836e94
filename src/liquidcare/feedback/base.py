"""What every part of the store shares: the engine, transactions, the acting user, the checks of
who may see which twin or conversation, the audit log writer and the snapshots handed out.

The store is one `Store` object (store.py) assembled from parts with one job each — users and
keys (users.py), twins (twins.py), conversations and ratings (conversations.py), training
export (training.py), audit (audit.py), the person's rights (rights.py) and backups
(backup.py), plus consent (consent.py) and personal-data masking (pii.py). Each part is a
`StoreBase` subclass and never imports `Store`; a part may call another's module functions
(backup re-applies `rights.erase_rows`), and tests/test_store_layout.py keeps the graph acyclic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .engine import current_revision, describe
from .errors import NotFoundError, PermissionDeniedError, ValidationError
from .models import (
    AuditRow,
    ConversationRow,
    EventRow,
    MessageRow,
    TwinLinkRow,
    TwinRow,
    UserRow,
)
from .records import Conversation, Event, Message, User
from .twin import Twin

Actor = User | int | None


def user_snapshot(row: UserRow) -> User:
    return User(id=row.id, name=row.name, role=row.role, created_at=row.created_at)


def twin_snapshot(row: TwinRow) -> Twin:
    return Twin(
        id=row.id, name=row.name, language=row.language, age=row.age,
        conditions=list(row.conditions), medications=list(row.medications),
        routines=list(row.routines), preferences=list(row.preferences),
        carers=list(row.carers), emergency_contact=row.emergency_contact, notes=row.notes,
        person_user_id=row.person_user_id, version=row.version,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def message_snapshot(row: MessageRow) -> Message:
    return Message(
        id=row.id, conversation_id=row.conversation_id, role=row.role, content=row.content,
        model_version=row.model_version, origin=row.origin, created_at=row.created_at,
    )


def conversation_snapshot(row: ConversationRow, with_messages: bool) -> Conversation:
    return Conversation(
        id=row.id, user_id=row.user_id, twin_id=row.twin_id, title=row.title,
        created_at=row.created_at,
        messages=[message_snapshot(m) for m in row.messages] if with_messages else [],
    )


def event_snapshot(row: EventRow) -> Event:
    return Event(
        id=row.id, twin_id=row.twin_id, kind=row.kind, evidence=row.evidence,
        message_id=row.message_id, at=row.at,
    )


class StoreBase:
    """The engine, transactions and access checks; see store.py for the whole `Store`."""

    def __init__(self, engine: Engine, target: str):
        self.engine = engine
        self.target = target
        # Writes start with BEGIN IMMEDIATE on SQLite (see engine.py); same engine otherwise.
        self._write_engine = engine.execution_options(liquidcare_write=True)

    def __repr__(self) -> str:
        return f"Store({describe(self.target)!r})"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def schema_version(self) -> str | None:
        """The Alembic revision the database is at."""
        return current_revision(self.engine)

    def ping(self) -> bool:
        """True when the database answers (for a health check); never raises."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except sa.exc.SQLAlchemyError:
            return False

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Session]:
        engine = self._write_engine if write else self.engine
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session

    # ------------------------------------------------------------------ who is acting
    def _actor(self, s: Session, by: Actor) -> UserRow | None:
        """The acting user's row (None for the console operator); refuses unknown users."""
        if by is None:
            return None
        user_id = by if isinstance(by, int) else by.id
        row = s.get(UserRow, user_id)
        if row is None:
            raise PermissionDeniedError(f"user {user_id} does not exist (any more)")
        return row

    def _required_actor(self, s: Session, by: Actor) -> UserRow:
        row = self._actor(s, by)
        if row is None:
            raise ValidationError("this action needs a user (by=...)")
        return row

    @staticmethod
    def _audit(
        s: Session, actor: UserRow | None, action: str, kind: str, twin_id: int | None,
        object_id: int | None = None,
    ) -> None:
        s.add(AuditRow(
            actor_id=actor.id if actor else None, actor_role=actor.role if actor else "operator",
            action=action, kind=kind, twin_id=twin_id, object_id=object_id,
        ))

    @staticmethod
    def _audit_read(
        pending: list[dict[str, Any]], actor: UserRow | None, kind: str, twin: TwinRow | None,
        object_id: int | None,
    ) -> None:
        """Notes a read for the audit log unless the reader is the person themself (or it
        concerns no twin). `_log_reads` writes the notes after the read transaction."""
        if twin is None:
            return
        if actor is not None and actor.id == twin.person_user_id:
            return
        pending.append({
            "actor_id": actor.id if actor else None,
            "actor_role": actor.role if actor else "operator",
            "action": "read", "kind": kind, "twin_id": twin.id, "object_id": object_id,
        })

    def _log_reads(self, pending: list[dict[str, Any]]) -> None:
        """Writes audit entries for reads just made, before their data is handed out.

        Reading happens in a read transaction and logging in a short write transaction of its
        own: on SQLite a reader then never waits for a writer unless there is something to log,
        and a failed log write still withholds the data (the caller gets the error instead).
        """
        if not pending:
            return
        with self._tx(write=True) as s:
            s.add_all(AuditRow(**entry) for entry in pending)

    @staticmethod
    def _is_linked(s: Session, twin_id: int, user_id: int) -> bool:
        return s.get(TwinLinkRow, (twin_id, user_id)) is not None

    def _twin_for(self, s: Session, twin_id: int, actor: UserRow | None) -> TwinRow:
        row = s.get(TwinRow, twin_id)
        if row is None:
            raise NotFoundError(f"no twin {twin_id}")
        if actor is None or actor.role == "admin" or self._is_linked(s, twin_id, actor.id):
            return row
        raise PermissionDeniedError(f"user {actor.id} is not linked to twin {twin_id}")

    def _conversation_for(
        self, s: Session, conv_id: int, actor: UserRow | None, write: bool
    ) -> ConversationRow:
        row = s.get(ConversationRow, conv_id)
        if row is None:
            raise NotFoundError(f"no conversation {conv_id}")
        if actor is None or row.user_id == actor.id or (actor.role == "admin" and not write):
            return row
        raise PermissionDeniedError(f"conversation {conv_id} belongs to another user")
