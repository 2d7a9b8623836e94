"""Consent over HTTP: the caller's own and that of the people they care for (issue 18).

    GET  /v1/consent                  the caller's own, then every twin they may see
    GET  /v1/consent/twins/{twin_id}  one twin's (404 when the caller may not see it)
    POST /v1/consent                  grant   {scope, twin_id | user_id (default: the caller), note}
    POST /v1/consent/withdraw         withdraw {scope, twin_id | user_id (default: the caller)}

Who may record what is the store's rule (`feedback/consent.py`), so the CLI and the API agree:
the person for their twin, each user for themself, an admin for anyone; a twin's carers only read
it (403 when they try to record it). A twin the caller may not see is 404, as a missing one: the
store answers so (`NotFoundError`), for the CLI too. Withdrawal takes effect at the next training
export. Granting and withdrawing are idempotent, so a retried request changes nothing twice.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field, model_validator

from liquidcare.feedback.consent import SCOPES

from ..deps import StoreDep, User
from ..openapi import ERROR_RESPONSES
from ..render import to_json
from ..schemas import BodyId, PathId, Strict

router = APIRouter(prefix="/v1/consent", tags=["consent"], responses=ERROR_RESPONSES)

Scope = Literal["service", "research_retraining", "federated"]  # = feedback.consent.SCOPES


class ConsentChange(Strict):
    """Whose consent (one of twin_id and user_id; neither: the caller's own) to which scope."""

    scope: Scope
    twin_id: BodyId | None = None
    user_id: BodyId | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> ConsentChange:
        if self.twin_id is not None and self.user_id is not None:
            raise ValueError("name one subject: twin_id (a person) or user_id, not both")
        return self

    def subject(self, caller: Any) -> dict[str, int | None]:
        if self.twin_id is None and self.user_id is None:
            return {"twin_id": None, "user_id": caller.id}
        return {"twin_id": self.twin_id, "user_id": self.user_id}


class ConsentGrant(ConsentChange):
    note: Annotated[str, Field(max_length=2_000)] = ""


def consent_json(consent: Any) -> dict[str, Any]:
    return {"object": "consent", **to_json(consent), "active": consent.active}


def subject_json(subject: Any) -> dict[str, Any]:
    """One person's or user's consent: the active record of each scope (null: not given) and
    the whole history, withdrawn records included."""
    active = {c.scope: c for c in subject.consents if c.active}
    return {
        "object": "consent_subject", "kind": subject.kind, "id": subject.id,
        "may_record": subject.may_record,
        "scopes": {scope: consent_json(active[scope]) if scope in active else None
                   for scope in SCOPES},
        "history": [consent_json(c) for c in subject.consents],
    }


@router.get("")
def overview(user: User, store: StoreDep) -> dict[str, Any]:
    return {"object": "list", "scopes": list(SCOPES),
            "data": [subject_json(s) for s in store.consent_overview(by=user)]}


@router.get("/twins/{twin_id}")
def twin_consent(twin_id: PathId, user: User, store: StoreDep) -> dict[str, Any]:
    subjects = store.consent_overview(by=user, twin_id=twin_id)
    return subject_json(next(s for s in subjects if s.kind == "twin"))


@router.post("")
def grant(body: ConsentGrant, user: User, store: StoreDep) -> dict[str, Any]:
    return consent_json(store.grant_consent(body.scope, by=user, note=body.note,
                                            **body.subject(user)))


@router.post("/withdraw")
def withdraw(body: ConsentChange, user: User, store: StoreDep) -> dict[str, Any]:
    subject = body.subject(user)
    count = store.withdraw_consent(body.scope, by=user, **subject)
    return {"object": "consent_withdrawal", "scope": body.scope, **subject, "withdrawn": count}
