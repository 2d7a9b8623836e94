"""Digital twins: creating, reading, editing (optimistic concurrency), who is linked to them,
and their timeline.

Concurrent edits of a twin: each twin row has a `version`; `update_twin` writes only if the
caller's `expected_version` is still current (`UPDATE ... WHERE version = :expected`) and raises
`StaleWriteError` (HTTP 409) otherwise. We chose this over row locks (`SELECT ... FOR UPDATE`)
because an edit spans two HTTP requests (read the twin, send the change) on possibly two server
processes: a lock cannot be held across them, and SQLite has no row locks at all. With a version,
a carer who edited an outdated copy learns so and re-reads, instead of silently overwriting a
colleague's change; the check is one atomic statement on both engines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .base import Actor, StoreBase, event_snapshot, twin_snapshot, user_snapshot
from .errors import NotFoundError, PermissionDeniedError, StaleWriteError, ValidationError
from .models import EventRow, TwinLinkRow, TwinRow, UserRow, utcnow
from .records import Event, User
from .twin import Twin, validate_twin_fields

# Said to anyone but an admin who names a person: the same words whether or not the id is a
# person, a carer or nobody, so that trying ids tells nothing about who is cared for here.
ATTACH_REFUSED = (
    "only an admin or the person themself may attach a person to a twin (person_user_id)"
)


class TwinsPart(StoreBase):
    def _check_person_user(
        self, s: Session, user_id: int | None, twin_id: int | None = None
    ) -> None:
        """An admin (or the person) attaches `user_id` as the twin's person: it must be a
        person's account, and not already the person of another twin (a person has one twin;
        a second one would let whoever holds it read the person's own conversations)."""
        if user_id is None:
            return
        row = s.get(UserRow, user_id)
        if row is None or row.role != "person":
            raise ValidationError(f"person_user_id {user_id} is not a user with role 'person'")
        other = s.scalar(select(TwinRow.id).where(
            TwinRow.person_user_id == user_id,
            *([TwinRow.id != twin_id] if twin_id is not None else []),
        ).limit(1))
        if other is not None:
            raise ValidationError(
                f"person_user_id {user_id} is already the person of twin {other}: "
                "a person has one twin"
            )

    def create_twin(self, fields: dict[str, Any], by: Actor) -> Twin:
        """A new twin; its creator is linked to it (a 'person' creating one becomes its person).

        Only an admin (or the operator) may attach another user as the twin's person: a person
        is never linked to a twin without their consent, which the person gives by creating
        their own twin, or an admin records on their behalf."""
        data = validate_twin_fields(fields, partial=False)
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            if actor is not None and actor.role == "person":
                if data.get("person_user_id") not in (None, actor.id):
                    raise PermissionDeniedError("a person may only create their own twin")
                data["person_user_id"] = actor.id
            elif actor is not None and actor.role != "admin" and (
                data.get("person_user_id") is not None
            ):
                raise PermissionDeniedError(ATTACH_REFUSED)
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
            return twin_snapshot(row)

    def get_twin(self, twin_id: int, by: Actor) -> Twin:
        pending: list[dict[str, Any]] = []
        with self._tx() as s:
            actor = self._actor(s, by)
            row = self._twin_for(s, twin_id, actor)
            self._audit_read(pending, actor, "twin", row, row.id)
            twin = twin_snapshot(row)
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
            twins = [twin_snapshot(r) for r in rows]
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
                self._check_person_user(s, data["person_user_id"], twin_id)
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
            return twin_snapshot(row)

    def link(self, twin_id: int, user_id: int, by: Actor) -> None:
        """Lets another user see (and edit) a twin. Admins, and carers or clinicians already
        linked to it, may do so."""
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            self._twin_for(s, twin_id, actor)
            if actor is not None and actor.role not in ("admin", "carer", "clinician"):
                raise PermissionDeniedError(f"a {actor.role} cannot give others access to a twin")
            target = s.get(UserRow, user_id)
            if actor is not None and actor.role != "admin" and (
                target is None or target.role not in ("carer", "clinician")
            ):
                # A carer shares a twin with colleagues only; linking a person (to whom the twin
                # would then be shown) is an admin's act. One answer for "no such user" and
                # "a person", so that the refusal does not tell which ids are people.
                raise PermissionDeniedError(
                    f"user {user_id} cannot be linked to twin {twin_id} by a {actor.role}: "
                    "carers and clinicians share a twin with other carers and clinicians; "
                    "an admin links anyone else"
                )
            if target is None:
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
            return [user_snapshot(r) for r in rows]

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
            events = [event_snapshot(e) for e in s.scalars(
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
            return event_snapshot(row)
