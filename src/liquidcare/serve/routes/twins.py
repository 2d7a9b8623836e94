"""The digital twins: list, create, read, change (optimistic concurrency), timeline.

A twin the caller is not linked to answers 404, as one that does not exist: a 403 would tell
anyone which ids are twins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from ..deps import StoreDep, User
from ..errors import hidden
from ..idempotency import KEY_PATTERN, fingerprint
from ..openapi import ERROR_RESPONSES
from ..render import to_json
from ..schemas import PathId, TwinCreate, TwinPatch

router = APIRouter(prefix="/v1/twins", tags=["twins"], responses=ERROR_RESPONSES)


@router.get("")
def list_twins(user: User, store: StoreDep) -> dict[str, Any]:
    return {"object": "list", "data": [to_json(t) for t in store.list_twins(by=user)]}


@router.post("", status_code=201)
def create_twin(body: TwinCreate, user: User, store: StoreDep, request: Request,
                idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                              pattern=KEY_PATTERN)] = None,
                ) -> Any:
    cache, user_id = request.app.state.idempotency, getattr(user, "id", user)
    if idempotency_key is not None:
        done = cache.begin(user_id, idempotency_key,
                           fingerprint("twin", body.model_dump_json()))
        if done is not None:
            return done  # the twin the first request created: no second one
    try:
        twin = to_json(store.create_twin(body.fields(), by=user))
    except BaseException:
        if idempotency_key is not None:
            cache.abort(user_id, idempotency_key)
        raise
    if idempotency_key is not None:
        cache.finish(user_id, idempotency_key, twin)
    return twin


@router.get("/{twin_id}")
def get_twin(twin_id: PathId, user: User, store: StoreDep) -> Any:
    with hidden("twin", twin_id):
        return to_json(store.get_twin(twin_id, by=user))


@router.patch("/{twin_id}")
def patch_twin(twin_id: PathId, body: TwinPatch, user: User, store: StoreDep) -> Any:
    with hidden("twin", twin_id):
        return to_json(store.update_twin(twin_id, body.changes.fields(),
                                         expected_version=body.expected_version, by=user))


@router.get("/{twin_id}/timeline")
def timeline(twin_id: PathId, user: User, store: StoreDep) -> dict[str, Any]:
    # a person linked to their own twin may know it exists (and their reads are not audited):
    # they get 403, the timeline being for carers and clinicians
    with hidden("twin", twin_id, known=lambda: store.get_twin(twin_id, by=user)):
        return {"object": "list", "data": [to_json(e) for e in store.timeline(twin_id, by=user)]}
