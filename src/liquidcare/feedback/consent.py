"""Consent: per person (their twin) and per user, with time and scope, withdrawable.

Health data is a special category (GDPR Art. 9): it trains a model only with explicit consent.
A scope is one use:

- ``service``              the care chat itself (recorded; the chat does not depend on it here)
- ``research_retraining``  retraining this centre's model from the conversations and ratings
- ``federated``            this centre's training for the federation (only weights leave)

A reply becomes training data for a scope only while both hold: the consent of the user who
held the conversation (their words and ratings) and, when the conversation is about a twin, the
consent of that person (it is their health). Withdrawing takes effect at the next export: the
data stays in the store (the service still shows it) but no longer enters a training set.

Who records it: the user for themself, the person for their twin, or an admin (consent given on
paper or by a legal representative, recorded with a note). Carers cannot consent for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .base import Actor, StoreBase
from .errors import NotFoundError, PermissionDeniedError, ValidationError
from .models import ConsentRow, TwinLinkRow, TwinRow, UserRow, utcnow
from .records import Consent

SCOPES = ("service", "research_retraining", "federated")


@dataclass(frozen=True)
class ConsentSubject:
    """Whose consent (``kind`` "user" or "twin", and the id), whether the caller may record it,
    and its history, oldest first (withdrawn records stay, as proof)."""

    kind: str
    id: int
    may_record: bool
    consents: list[Consent]


def consent_snapshot(row: ConsentRow) -> Consent:
    return Consent(
        id=row.id, scope=row.scope, twin_id=row.twin_id, user_id=row.user_id,
        granted_at=row.granted_at, granted_by=row.granted_by,
        granted_by_role=row.granted_by_role, note=row.note, withdrawn_at=row.withdrawn_at,
        withdrawn_by=row.withdrawn_by,
    )


def _subject(twin_id: int | None, user_id: int | None) -> None:
    if (twin_id is None) == (user_id is None):
        raise ValidationError("consent is about one person (twin_id) or one user (user_id)")


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise ValidationError(f"unknown consent scope {scope!r}: use one of {', '.join(SCOPES)}")


def consenting(s: Session, scope: str) -> tuple[set[int], set[int]]:
    """(twin ids, user ids) with an active consent for `scope`."""
    rows = s.execute(select(ConsentRow.twin_id, ConsentRow.user_id).where(
        ConsentRow.scope == scope, ConsentRow.withdrawn_at.is_(None))).all()
    return ({t for t, _ in rows if t is not None}, {u for _, u in rows if u is not None})


class ConsentPart(StoreBase):
    def _may_consent(self, s: Session, by: Actor, twin_id: int | None, user_id: int | None,
                     reading: bool = False) -> UserRow | None:
        actor = self._actor(s, by)
        if twin_id is not None:
            twin = s.get(TwinRow, twin_id)
            if actor is None or (twin is not None and (
                    actor.role == "admin" or actor.id == twin.person_user_id)):
                if twin is None:
                    raise NotFoundError(f"no twin {twin_id}")
                return actor
            # a twin the caller may not see and one that does not exist get the same answer,
            # so that trying ids tells nothing about who is cared for here
            if twin is None or not self._is_linked(s, twin_id, actor.id):
                raise NotFoundError(f"no twin {twin_id}")
            if reading:
                return actor  # the twin's carers may see whether the person consented
            raise PermissionDeniedError(
                "only the person themself or an admin records a person's consent")
        if actor is None or actor.role == "admin" or actor.id == user_id:
            if s.get(UserRow, user_id) is None:
                raise NotFoundError(f"no user {user_id}")
            return actor
        raise PermissionDeniedError("a user's consent is theirs (or an admin's) to record")

    def grant_consent(self, scope: str, *, by: Actor, twin_id: int | None = None,
                      user_id: int | None = None, note: str = "") -> Consent:
        """Records consent for `scope` (the active one if already given: granting is
        idempotent)."""
        _subject(twin_id, user_id)
        _check_scope(scope)
        if not isinstance(note, str) or len(note) > 2000:
            raise ValidationError("a consent's note must be a string of at most 2000 characters")
        with self._tx(write=True) as s:
            actor = self._may_consent(s, by, twin_id, user_id)
            row = s.scalar(select(ConsentRow).where(
                ConsentRow.scope == scope, ConsentRow.withdrawn_at.is_(None),
                ConsentRow.twin_id == twin_id if twin_id is not None
                else ConsentRow.user_id == user_id))
            if row is None:
                row = ConsentRow(
                    twin_id=twin_id, user_id=user_id, scope=scope, granted_at=utcnow(),
                    granted_by=actor.id if actor else None,
                    granted_by_role=actor.role if actor else "operator", note=note)
                s.add(row)
                s.flush()
                self._audit(s, actor, "consent", scope, twin_id, row.id)
            return consent_snapshot(row)

    def withdraw_consent(self, scope: str, *, by: Actor, twin_id: int | None = None,
                         user_id: int | None = None) -> int:
        """Withdraws the active consent for `scope`; returns how many were withdrawn (0 or 1).
        The next training export leaves the data out."""
        _subject(twin_id, user_id)
        _check_scope(scope)
        with self._tx(write=True) as s:
            actor = self._may_consent(s, by, twin_id, user_id)
            rows = list(s.scalars(select(ConsentRow).where(
                ConsentRow.scope == scope, ConsentRow.withdrawn_at.is_(None),
                ConsentRow.twin_id == twin_id if twin_id is not None
                else ConsentRow.user_id == user_id)))
            for row in rows:
                row.withdrawn_at, row.withdrawn_by = utcnow(), actor.id if actor else None
                self._audit(s, actor, "withdraw", scope, twin_id, row.id)
            return len(rows)

    def consents(self, *, by: Actor, twin_id: int | None = None,
                 user_id: int | None = None) -> list[Consent]:
        """Every consent given and withdrawn for one person or user, oldest first."""
        _subject(twin_id, user_id)
        with self._tx() as s:
            self._may_consent(s, by, twin_id, user_id, reading=True)
            rows = s.scalars(select(ConsentRow).where(
                ConsentRow.twin_id == twin_id if twin_id is not None
                else ConsentRow.user_id == user_id).order_by(ConsentRow.id))
            return [consent_snapshot(r) for r in rows]

    def consent_overview(self, *, by: Actor, twin_id: int | None = None) -> list[ConsentSubject]:
        """The caller's own consents, then those of every twin they may see (linked to, their
        own; every twin for an admin), or only of `twin_id` (NotFoundError when the caller may
        not see it), each saying whether the caller may record it (the person and an admin may;
        carers only read). Reads of consent records are not audited, as with `consents`: they
        hold no health data; every grant and withdrawal is."""
        with self._tx() as s:
            actor = self._required_actor(s, by)
            query = select(TwinRow.id, TwinRow.person_user_id).order_by(TwinRow.id)
            if actor.role != "admin":
                linked = select(TwinLinkRow.twin_id).where(TwinLinkRow.user_id == actor.id)
                query = query.where(
                    TwinRow.id.in_(linked) | (TwinRow.person_user_id == actor.id))
            if twin_id is not None:
                query = query.where(TwinRow.id == twin_id)
            twins = s.execute(query).all()
            if twin_id is not None and not twins:
                raise NotFoundError(f"no twin {twin_id}")
            rows = list(s.scalars(select(ConsentRow).where(
                (ConsentRow.user_id == actor.id)
                | ConsentRow.twin_id.in_([t for t, _ in twins])).order_by(ConsentRow.id)))
            mine = [consent_snapshot(r) for r in rows if r.user_id == actor.id]
            out = [ConsentSubject("user", actor.id, True, mine)]
            for twin_id, person in twins:
                history = [consent_snapshot(r) for r in rows if r.twin_id == twin_id]
                out.append(ConsentSubject(
                    "twin", twin_id, actor.role == "admin" or person == actor.id, history))
            return out
