"""The digital twins: list, create, read, change (optimistic concurrency), timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import StoreDep, User
from ..render import to_json
from ..schemas import TwinPatch

router = APIRouter(prefix="/v1/twins", tags=["twins"])


@router.get("")
def list_twins(user: User, store: StoreDep) -> dict[str, Any]:
    return {"object": "list", "data": [to_json(t) for t in store.list_twins(by=user)]}


@router.post("", status_code=201)
def create_twin(body: dict[str, Any], user: User, store: StoreDep) -> Any:
    return to_json(store.create_twin(body, by=user))


@router.get("/{twin_id}")
def get_twin(twin_id: int, user: User, store: StoreDep) -> Any:
    return to_json(store.get_twin(twin_id, by=user))


@router.patch("/{twin_id}")
def patch_twin(twin_id: int, body: TwinPatch, user: User, store: StoreDep) -> Any:
    return to_json(store.update_twin(twin_id, body.changes,
                                     expected_version=body.expected_version, by=user))


@router.get("/{twin_id}/timeline")
def timeline(twin_id: int, user: User, store: StoreDep) -> dict[str, Any]:
    return {"object": "list", "data": [to_json(e) for e in store.timeline(twin_id, by=user)]}
