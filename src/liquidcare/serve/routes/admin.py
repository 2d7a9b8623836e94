"""Admin: switching the weights, and the person's rights (export, erasure, audit).

Who may use the rights endpoints is decided by the store (an admin or the person; the export also
the twin's carers and clinicians), which audits every use; `reload` needs the admin role.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from ..deps import Admin, EngineDep, StoreDep, User
from ..errors import hidden
from ..openapi import ERROR_RESPONSES
from ..render import to_json
from ..schemas import PathId, ReloadRequest

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=ERROR_RESPONSES)


@router.post("/reload")
def reload(body: ReloadRequest, user: Admin, request: Request,
           engine: EngineDep) -> dict[str, Any]:
    before = engine.version
    version = engine.reload(body.model)
    request.app.state.model_dir = body.model
    return {"object": "reload", "previous": before, "model": version}


@router.get("/persons/{person_id}/export")
def export_person(person_id: PathId, user: User, store: StoreDep) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="liquidcare-export-") as tmp:
        with hidden("person", person_id):
            store.export_person(person_id, tmp, by=user)
        files = {}
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                rel = str(path.relative_to(tmp))
                files[rel] = json.loads(text) if path.suffix == ".json" else text
    return {"object": "person_export", "person_id": person_id, "files": files}


@router.post("/persons/{person_id}/forget")
def forget_person(person_id: PathId, user: User, store: StoreDep) -> dict[str, Any]:
    with hidden("person", person_id):
        record = store.forget_person(person_id, by=user)
    return {"object": "erasure", "person_id": person_id, "record": to_json(record)}


@router.get("/persons/{person_id}/audit")
def audit(person_id: PathId, user: User, store: StoreDep) -> dict[str, Any]:
    with hidden("person", person_id):
        entries = store.audit(person_id, by=user)
    return {"object": "list", "data": [to_json(e) for e in entries]}
