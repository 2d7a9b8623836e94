"""The feedback store: users and keys, digital twins, conversations, ratings, training records.

Authorisation lives here, not in the server: every method that touches a person's data takes
`by=` (the acting user) and refuses what that user may not see, so the server, the terminal chat
and any future front end cannot forget a check. `by=None` is the operator at the console (the
`liquidcare store ...` commands): whoever can open the database file or URL can read it anyway.

Who sees what:
- a user reads and writes only their own conversations (an admin may read any, audited);
- a twin is visible to the users linked to it (and admins); linked users may edit it;
- a twin's timeline is visible to its linked carers and clinicians and to admins only;
- every read of a twin, timeline or conversation by anyone but the person is audited.

Concurrent edits of a twin: each twin row has a `version`; `update_twin` writes only if the
caller's `expected_version` is still current (`UPDATE ... WHERE version = :expected`) and raises
`StaleWriteError` (HTTP 409) otherwise. We chose this over row locks (`SELECT ... FOR UPDATE`)
because an edit spans two HTTP requests (read the twin, send the change) on possibly two server
processes: a lock cannot be held across them, and SQLite has no row locks at all. With a version,
a carer who edited an outdated copy learns so and re-reads, instead of silently overwriting a
colleague's change; the check is one atomic statement on both engines.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import keys as _keys
from .engine import current_revision, describe, make_engine, migrate
from .errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleWriteError,
    StoreError,
    ValidationError,
)
from .events import extract_events
from .models import (
    ROLES,
    AdapterErasureRow,
    AdapterRow,
    ApiKeyRow,
    AuditRow,
    ConversationRow,
    ErasureRow,
    EventRow,
    MessageRow,
    RatingRow,
    TrainingExampleRow,
    TwinLinkRow,
    TwinRow,
    UserRow,
    VerdictRow,
    utcnow,
)
from .records import (
    AuditEntry,
    CarriedErasure,
    Conversation,
    Erasure,
    Event,
    Message,
    Rating,
    User,
)
from .twin import FIELDS, Twin, validate_twin_fields

MESSAGE_ROLES = ("system", "user", "assistant")
MAX_MESSAGE_CHARS = 100_000
VERDICT_STAGES = ("input", "output")

Actor = User | int | None


def _user(row: UserRow) -> User:
    return User(id=row.id, name=row.name, role=row.role, created_at=row.created_at)


def _twin(row: TwinRow) -> Twin:
    return Twin(
        id=row.id, name=row.name, language=row.language, age=row.age,
        conditions=list(row.conditions), medications=list(row.medications),
        routines=list(row.routines), preferences=list(row.preferences),
        carers=list(row.carers), emergency_contact=row.emergency_contact, notes=row.notes,
        person_user_id=row.person_user_id, version=row.version,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def _message(row: MessageRow) -> Message:
    return Message(
        id=row.id, conversation_id=row.conversation_id, role=row.role, content=row.content,
        model_version=row.model_version, created_at=row.created_at,
    )


def _conversation(row: ConversationRow, with_messages: bool) -> Conversation:
    return Conversation(
        id=row.id, user_id=row.user_id, twin_id=row.twin_id, title=row.title,
        created_at=row.created_at,
        messages=[_message(m) for m in row.messages] if with_messages else [],
    )


def _event(row: EventRow) -> Event:
    return Event(
        id=row.id, twin_id=row.twin_id, kind=row.kind, evidence=row.evidence,
        message_id=row.message_id, at=row.at,
    )


class Store:
    """One feedback store. Open it with `open_store`; it is safe to share between threads."""

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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def _is_linked(self, s: Session, twin_id: int, user_id: int) -> bool:
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

    # ------------------------------------------------------------------ users and keys
    def add_user(self, name: str, role: str = "person") -> tuple[User, str]:
        """Creates a user and their first API key; the key is returned here and never again."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ValidationError("a user's name must be a non-empty string (<= 200 characters)")
        if role not in ROLES:
            raise ValidationError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        with self._tx(write=True) as s:
            row = UserRow(name=name.strip(), role=role)
            s.add(row)
            s.flush()
            key = self._new_key(s, row.id)
            return _user(row), key

    def _new_key(self, s: Session, user_id: int) -> str:
        key, key_id, secret = _keys.new_key()
        salt, digest = _keys.hash_secret(secret)
        s.add(ApiKeyRow(key_id=key_id, user_id=user_id, salt=salt, digest=digest))
        return key

    def new_api_key(self, user_id: int) -> str:
        """Another key for an existing user (e.g. a lost one: revoke the old one as well)."""
        with self._tx(write=True) as s:
            if s.get(UserRow, user_id) is None:
                raise NotFoundError(f"no user {user_id}")
            return self._new_key(s, user_id)

    def revoke_keys(self, user_id: int) -> int:
        with self._tx(write=True) as s:
            result = s.execute(
                update(ApiKeyRow).where(ApiKeyRow.user_id == user_id).values(revoked=True)
            )
            return result.rowcount

    def authenticate(self, api_key: str | None) -> User | None:
        """The user a key belongs to, or None for a missing, malformed, unknown or revoked key."""
        if not api_key:
            return None
        parts = _keys.split_key(api_key)
        if parts is None:
            return None
        key_id, secret = parts
        with self._tx() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            if row is None or row.revoked or not _keys.check_secret(secret, row.salt, row.digest):
                return None
            user = s.get(UserRow, row.user_id)
            return _user(user) if user else None

    def get_user(self, user_id: int) -> User:
        with self._tx() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError(f"no user {user_id}")
            return _user(row)

    def list_users(self) -> list[User]:
        with self._tx() as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.id))]

    # ------------------------------------------------------------------ twins
    def _check_person_user(self, s: Session, user_id: int | None) -> None:
        if user_id is None:
            return
        row = s.get(UserRow, user_id)
        if row is None or row.role != "person":
            raise ValidationError(f"person_user_id {user_id} is not a user with role 'person'")

    def create_twin(self, fields: dict[str, Any], by: Actor) -> Twin:
        """A new twin; its creator is linked to it (a 'person' creating one becomes its person)."""
        data = validate_twin_fields(fields, partial=False)
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            if actor is not None and actor.role == "person":
                if data.get("person_user_id") not in (None, actor.id):
                    raise PermissionDeniedError("a person may only create their own twin")
                data["person_user_id"] = actor.id
            self._check_person_user(s, data.get("person_user_id"))
            row = TwinRow(**{k: v for k, v in data.items()})
            for key in ("conditions", "medications", "routines", "preferences", "carers"):
                if getattr(row, key) is None:
                    setattr(row, key, [])
            s.add(row)
            s.flush()
            linked = {actor.id} if actor is not None else set()
            if row.person_user_id is not None:
                linked.add(row.person_user_id)
            for user_id in linked:
                s.add(TwinLinkRow(twin_id=row.id, user_id=user_id))
            self._audit(s, actor, "create", "twin", row.id)
            s.flush()
            s.refresh(row)
            return _twin(row)

    def get_twin(self, twin_id: int, by: Actor) -> Twin:
        pending: list[dict[str, Any]] = []
        with self._tx() as s:
            actor = self._actor(s, by)
            row = self._twin_for(s, twin_id, actor)
            self._audit_read(pending, actor, "twin", row, row.id)
            twin = _twin(row)
        self._log_reads(pending)
        return twin

    def list_twins(self, by: Actor) -> list[Twin]:
        """The twins this user is linked to (all of them for an admin or the operator)."""
        pending: list[dict[str, Any]] = []
        with self._tx() as s:
            actor = self._actor(s, by)
            query = select(TwinRow).order_by(TwinRow.id)
            if actor is not None and actor.role != "admin":
                query = query.join(TwinLinkRow, TwinLinkRow.twin_id == TwinRow.id).where(
                    TwinLinkRow.user_id == actor.id
                )
            rows = list(s.scalars(query))
            for row in rows:
                self._audit_read(pending, actor, "twin", row, row.id)
            twins = [_twin(r) for r in rows]
        self._log_reads(pending)
        return twins

    def update_twin(
        self, twin_id: int, changes: dict[str, Any], expected_version: int, by: Actor
    ) -> Twin:
        """Applies `changes` if the twin is still at `expected_version`, else StaleWriteError."""
        data = validate_twin_fields(changes, partial=True)
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise ValidationError("expected_version must be the twin's version number")
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            row = self._twin_for(s, twin_id, actor)
            if "person_user_id" in data:
                if actor is not None and actor.role not in ("admin",):
                    raise PermissionDeniedError("only an admin may change whose twin this is")
                self._check_person_user(s, data["person_user_id"])
            # One atomic statement: the version check and the write cannot be split by another
            # writer on either engine.
            result = s.execute(
                update(TwinRow)
                .where(TwinRow.id == twin_id, TwinRow.version == expected_version)
                .values(**data, version=TwinRow.version + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                s.refresh(row)
                raise StaleWriteError(
                    f"twin {twin_id} is at version {row.version}, not {expected_version}: "
                    "read it again and re-apply the change"
                )
            person = data.get("person_user_id")
            if person is not None and not self._is_linked(s, twin_id, person):
                s.add(TwinLinkRow(twin_id=twin_id, user_id=person))
            self._audit(s, actor, "update", "twin", twin_id)
            s.refresh(row)
            return _twin(row)

    def link(self, twin_id: int, user_id: int, by: Actor) -> None:
        """Lets another user see (and edit) a twin. Admins, and carers or clinicians already
        linked to it, may do so."""
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            self._twin_for(s, twin_id, actor)
            if actor is not None and actor.role not in ("admin", "carer", "clinician"):
                raise PermissionDeniedError(f"a {actor.role} cannot give others access to a twin")
            if s.get(UserRow, user_id) is None:
                raise NotFoundError(f"no user {user_id}")
            if not self._is_linked(s, twin_id, user_id):
                s.add(TwinLinkRow(twin_id=twin_id, user_id=user_id))
                self._audit(s, actor, "link", "twin", twin_id, user_id)

    def unlink(self, twin_id: int, user_id: int, by: Actor) -> None:
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            self._twin_for(s, twin_id, actor)
            if actor is not None and actor.role != "admin" and actor.id != user_id:
                raise PermissionDeniedError("only an admin may remove another user's access")
            s.execute(delete(TwinLinkRow).where(
                TwinLinkRow.twin_id == twin_id, TwinLinkRow.user_id == user_id
            ))
            self._audit(s, actor, "unlink", "twin", twin_id, user_id)

    def linked_users(self, twin_id: int, by: Actor) -> list[User]:
        with self._tx() as s:
            actor = self._actor(s, by)
            self._twin_for(s, twin_id, actor)
            rows = s.scalars(
                select(UserRow).join(TwinLinkRow, TwinLinkRow.user_id == UserRow.id)
                .where(TwinLinkRow.twin_id == twin_id).order_by(UserRow.id)
            )
            return [_user(r) for r in rows]

    def timeline(self, twin_id: int, by: Actor) -> list[Event]:
        """The twin's events, oldest first: for its carers and clinicians and for admins."""
        pending: list[dict[str, Any]] = []
        with self._tx() as s:
            actor = self._actor(s, by)
            row = self._twin_for(s, twin_id, actor)
            if actor is not None and actor.role not in ("carer", "clinician", "admin"):
                raise PermissionDeniedError(
                    "a twin's timeline is for its carers and clinicians only"
                )
            self._audit_read(pending, actor, "timeline", row, row.id)
            events = [_event(e) for e in s.scalars(
                select(EventRow).where(EventRow.twin_id == twin_id).order_by(EventRow.id)
            )]
        self._log_reads(pending)
        return events

    def add_event(self, twin_id: int, kind: str, evidence: str, by: Actor) -> Event:
        """An event noted by hand (a carer's observation) rather than found in a message."""
        from .events import KINDS

        if kind not in KINDS:
            raise ValidationError(f"unknown event kind {kind!r}: use one of {', '.join(KINDS)}")
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            self._twin_for(s, twin_id, actor)
            if actor is not None and actor.role not in ("carer", "clinician", "admin"):
                raise PermissionDeniedError("only carers and clinicians add timeline events")
            row = EventRow(twin_id=twin_id, kind=kind, evidence=evidence, source="manual")
            s.add(row)
            s.flush()
            return _event(row)

    # ------------------------------------------------------------------ conversations
    def start_conversation(
        self, by: Actor, twin_id: int | None = None, title: str = ""
    ) -> Conversation:
        with self._tx(write=True) as s:
            actor = self._required_actor(s, by)
            if twin_id is not None:
                self._twin_for(s, twin_id, actor)
            row = ConversationRow(user_id=actor.id, twin_id=twin_id, title=title[:200])
            s.add(row)
            s.flush()
            return _conversation(row, with_messages=False)

    def get_conversation(self, conv_id: int, by: Actor) -> Conversation:
        pending: list[dict[str, Any]] = []
        with self._tx() as s:
            actor = self._actor(s, by)
            row = self._conversation_for(s, conv_id, actor, write=False)
            twin = s.get(TwinRow, row.twin_id) if row.twin_id is not None else None
            if twin is None:
                # A person's own chat without a twin attached is still about that person.
                twin = s.scalar(select(TwinRow).where(TwinRow.person_user_id == row.user_id)
                                .order_by(TwinRow.id).limit(1))
            # A carer reading their own chat about the person still reads about the person.
            self._audit_read(pending, actor, "conversation", twin, row.id)
            conv = _conversation(row, with_messages=True)
        self._log_reads(pending)
        return conv

    def list_conversations(self, by: Actor) -> list[Conversation]:
        """This user's conversations (without messages), newest first."""
        with self._tx() as s:
            actor = self._required_actor(s, by)
            rows = s.scalars(
                select(ConversationRow).where(ConversationRow.user_id == actor.id)
                .order_by(ConversationRow.id.desc())
            )
            return [_conversation(r, with_messages=False) for r in rows]

    def add_message(
        self, conv_id: int, role: str, content: str, by: Actor, model_version: str | None = None
    ) -> Message:
        """Appends a message. A user message in a twin's conversation is scanned for events,
        which land on the twin's timeline."""
        if role not in MESSAGE_ROLES:
            raise ValidationError(f"message role must be one of {', '.join(MESSAGE_ROLES)}")
        if not isinstance(content, str):
            raise ValidationError("message content must be a string")
        if len(content) > MAX_MESSAGE_CHARS:
            raise ValidationError(f"message longer than {MAX_MESSAGE_CHARS} characters")
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            conv = self._conversation_for(s, conv_id, actor, write=True)
            row = MessageRow(
                conversation_id=conv.id, role=role, content=content,
                model_version=model_version if role == "assistant" else None,
            )
            s.add(row)
            s.flush()
            if role == "user" and conv.twin_id is not None:
                for found in extract_events(content):
                    s.add(EventRow(
                        twin_id=conv.twin_id, kind=found.kind, evidence=found.evidence,
                        message_id=row.id,
                    ))
            return _message(row)

    def rate(
        self, message_id: int, value: int, by: Actor, comment: str | None = None
    ) -> Rating:
        """A thumbs up (+1) or down (-1) on an assistant reply in the user's own conversation;
        rating the same reply again replaces the earlier rating."""
        if value not in (1, -1) or isinstance(value, bool):
            raise ValidationError("a rating is +1 (good) or -1 (bad)")
        if comment is not None and (not isinstance(comment, str) or len(comment) > 5000):
            raise ValidationError("a rating's comment must be a string of at most 5000 characters")
        with self._tx(write=True) as s:
            actor = self._required_actor(s, by)
            msg = s.get(MessageRow, message_id)
            if msg is None:
                raise NotFoundError(f"no message {message_id}")
            self._conversation_for(s, msg.conversation_id, actor, write=True)
            if msg.role != "assistant":
                raise ValidationError("only the assistant's replies can be rated")
            row = s.scalar(select(RatingRow).where(
                RatingRow.message_id == message_id, RatingRow.user_id == actor.id
            ))
            if row is None:
                row = RatingRow(message_id=message_id, user_id=actor.id, value=value)
                s.add(row)
            row.value, row.comment, row.created_at = value, comment, utcnow()
            s.flush()
            return Rating(
                id=row.id, message_id=row.message_id, user_id=row.user_id, value=row.value,
                comment=row.comment, created_at=row.created_at,
            )

    def ratings(self, message_id: int, by: Actor) -> list[Rating]:
        with self._tx() as s:
            actor = self._actor(s, by)
            msg = s.get(MessageRow, message_id)
            if msg is None:
                raise NotFoundError(f"no message {message_id}")
            self._conversation_for(s, msg.conversation_id, actor, write=False)
            rows = s.scalars(select(RatingRow).where(RatingRow.message_id == message_id))
            return [
                Rating(id=r.id, message_id=r.message_id, user_id=r.user_id, value=r.value,
                       comment=r.comment, created_at=r.created_at) for r in rows
            ]

    def record_verdict(
        self, conversation_id: int, stage: str, verdict: dict[str, Any],
        message_id: int | None = None,
    ) -> int:
        """Stores a guardrail's decision (the server calls this; no user acts here)."""
        if stage not in VERDICT_STAGES:
            raise ValidationError(f"verdict stage must be one of {', '.join(VERDICT_STAGES)}")
        try:
            json.dumps(verdict)
        except (TypeError, ValueError) as err:
            raise ValidationError(f"a verdict must be JSON-serialisable: {err}") from None
        with self._tx(write=True) as s:
            if s.get(ConversationRow, conversation_id) is None:
                raise NotFoundError(f"no conversation {conversation_id}")
            row = VerdictRow(
                conversation_id=conversation_id, stage=stage, verdict=verdict,
                message_id=message_id,
            )
            s.add(row)
            s.flush()
            return row.id

    def verdicts(self, conversation_id: int) -> list[dict[str, Any]]:
        with self._tx() as s:
            rows = s.scalars(select(VerdictRow).where(
                VerdictRow.conversation_id == conversation_id).order_by(VerdictRow.id))
            return [
                {"id": r.id, "stage": r.stage, "verdict": r.verdict, "message_id": r.message_id}
                for r in rows
            ]

    # ------------------------------------------------------------------ training data
    def training_rows(self) -> Iterator[dict[str, Any]]:
        """One row per rated assistant reply (TRL's KTO format), oldest first.

        The label is the sign of the sum of the reply's ratings; replies whose ratings cancel
        out are skipped. The prompt is every message before the reply, starting with the twin's
        system prompt when the conversation has a twin and stored no system message itself.
        Data of forgotten people is gone from the tables, so it can never appear here.
        """
        with self._tx() as s:
            scores = s.execute(
                select(RatingRow.message_id, func.sum(RatingRow.value))
                .group_by(RatingRow.message_id).order_by(RatingRow.message_id)
            ).all()
            by_conv: dict[int, list[tuple[int, int]]] = {}
            for message_id, score in scores:
                msg = s.get(MessageRow, message_id)
                if msg is None or msg.role != "assistant" or not score:
                    continue
                by_conv.setdefault(msg.conversation_id, []).append((message_id, int(score)))
            for conv_id in sorted(by_conv):
                conv = s.get(ConversationRow, conv_id)
                assert conv is not None
                twin = s.get(TwinRow, conv.twin_id) if conv.twin_id is not None else None
                history = [{"role": m.role, "content": m.content} for m in conv.messages]
                if twin is not None and not any(m.role == "system" for m in conv.messages):
                    history.insert(0, {"role": "system", "content": _twin(twin).system_prompt()})
                    offset = 1
                else:
                    offset = 0
                index = {m.id: i + offset for i, m in enumerate(conv.messages)}
                for message_id, score in by_conv[conv_id]:
                    i = index[message_id]
                    msg = s.get(MessageRow, message_id)
                    assert msg is not None
                    yield {
                        "prompt": history[:i],
                        "completion": [history[i]],
                        "label": score > 0,
                        "message_id": message_id,
                        "conversation_id": conv_id,
                        "twin_id": conv.twin_id,
                        "model_version": msg.model_version,
                    }

    def export_training_set(self, path: str | os.PathLike[str]) -> int:
        """Writes `training_rows()` as JSONL (atomically: temp file + rename); returns the count."""
        path = Path(path)
        if not path.parent.exists():
            raise StoreError(f"cannot write {path}: folder {path.parent} does not exist")
        count = 0
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for row in self.training_rows():
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return count

    def record_training(self, adapter_version: str, message_ids: list[int]) -> None:
        """Notes that `adapter_version` learnt from these replies (so an erasure can find it)."""
        if not isinstance(adapter_version, str) or not adapter_version:
            raise ValidationError("adapter_version must be a non-empty string")
        with self._tx(write=True) as s:
            if s.get(AdapterRow, adapter_version) is None:
                s.add(AdapterRow(version=adapter_version))
                s.flush()
            known = set(s.scalars(select(MessageRow.id).where(MessageRow.id.in_(message_ids))))
            missing = sorted(set(message_ids) - known)
            if missing:
                raise NotFoundError(f"no message(s) {', '.join(map(str, missing[:10]))}")
            done = set(s.scalars(select(TrainingExampleRow.message_id).where(
                TrainingExampleRow.adapter_version == adapter_version)))
            for message_id in sorted(known - done):
                s.add(TrainingExampleRow(adapter_version=adapter_version, message_id=message_id))

    def trained_on(self, adapter_version: str) -> list[int]:
        with self._tx() as s:
            return list(s.scalars(
                select(TrainingExampleRow.message_id)
                .where(TrainingExampleRow.adapter_version == adapter_version)
                .order_by(TrainingExampleRow.message_id)
            ))

    def models_carrying_erased_data(self) -> list[CarriedErasure]:
        """Adapter versions that learnt from data erased since: retrain them without it."""
        with self._tx() as s:
            rows = s.execute(
                select(AdapterErasureRow, ErasureRow.at)
                .join(ErasureRow, ErasureRow.id == AdapterErasureRow.erasure_id)
                .order_by(AdapterErasureRow.adapter_version, AdapterErasureRow.erasure_id)
            ).all()
            return [
                CarriedErasure(
                    adapter_version=r.adapter_version, erasure_id=r.erasure_id, erased_at=at,
                    examples=r.examples,
                ) for r, at in rows
            ]

    # ------------------------------------------------------------------ rights, audit, backup
    def export_person(
        self, person_id: int, out_dir: str | os.PathLike[str], by: Actor = None
    ) -> list[Path]:
        """Everything held about a person (Art. 15/20 GDPR) as JSON plus a readable summary."""
        from .rights import export_person

        return export_person(self, person_id, Path(out_dir), by)

    def forget_person(self, person_id: int, by: Actor = None) -> Erasure:
        """Erases a person's data in one transaction (Art. 17 GDPR); see `rights.forget_person`."""
        from .rights import forget_person

        return forget_person(self, person_id, by)

    def audit(self, person_id: int, by: Actor = None) -> list[AuditEntry]:
        """Who read or changed what about a person, oldest first (admins and the operator)."""
        with self._tx() as s:
            actor = self._actor(s, by)
            if actor is not None and actor.role != "admin":
                twin = s.get(TwinRow, person_id)
                if twin is None or twin.person_user_id != actor.id:
                    raise PermissionDeniedError("only an admin or the person may read the audit")
            rows = s.scalars(
                select(AuditRow).where(AuditRow.twin_id == person_id).order_by(AuditRow.id)
            )
            return [
                AuditEntry(
                    id=r.id, at=r.at, actor_id=r.actor_id, actor_role=r.actor_role,
                    action=r.action, kind=r.kind, twin_id=r.twin_id, object_id=r.object_id,
                ) for r in rows
            ]

    def erasures(self) -> list[Erasure]:
        with self._tx() as s:
            return [
                Erasure(id=r.id, at=r.at, by_user_id=r.by_user_id, by_role=r.by_role,
                        person_id=r.person_id, kinds=dict(r.kinds))
                for r in s.scalars(select(ErasureRow).order_by(ErasureRow.id))
            ]

    def backup(self, path: str | os.PathLike[str]) -> Path:
        from .backup import backup

        return backup(self, Path(path))

    def restore(self, path: str | os.PathLike[str]) -> None:
        from .backup import restore

        restore(self, Path(path))

    # helpers for the rights module
    _twin_snapshot = staticmethod(_twin)
    _conversation_snapshot = staticmethod(_conversation)
    _event_snapshot = staticmethod(_event)
    _user_snapshot = staticmethod(_user)


def open_store(target: str | os.PathLike[str] = "care.db", create: bool = True) -> Store:
    """Opens (and, with `create`, creates) a store and migrates it to the newest schema.

    `target` is a file path (SQLite, WAL mode) or a database URL such as
    ``postgresql+psycopg://user:password@127.0.0.1:5432/care``.
    """
    target = os.fspath(target)
    engine = make_engine(target, create=create)
    try:
        migrate(engine)
    except sa.exc.DatabaseError as err:
        engine.dispose()
        raise StoreError(
            f"{describe(target)} is not a usable liquidcare store: {err.orig}"
        ) from None
    return Store(engine, target)


__all__ = ["FIELDS", "Store", "open_store"]
