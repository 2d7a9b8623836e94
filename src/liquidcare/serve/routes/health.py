"""The web page, the health check and the model list."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from ..deps import EngineDep, StoreDep, User
from ..openapi import ERROR_RESPONSES

WEB_DIR = resources.files("liquidcare.serve") / "web"

router = APIRouter()


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(str(WEB_DIR / "index.html"), media_type="text/html")


@router.get("/healthz", responses={503: {"description": "The store does not answer"}})
def healthz(request: Request, engine: EngineDep, store: StoreDep) -> JSONResponse:
    # a load balancer takes a server whose database does not answer out of rotation
    store_ok = bool(store.ping()) if hasattr(store, "ping") else True
    body = {"status": "ok" if store_ok else "store unreachable", "model": engine.version,
            "queued": engine.queued, "busy": engine.busy, "served": engine.served,
            "guard": request.app.state.guard is not None, "store": store_ok}
    return JSONResponse(body, status_code=200 if store_ok else 503)


@router.get("/v1/models", responses=ERROR_RESPONSES)
def models(user: User, engine: EngineDep) -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": engine.version, "object": "model", "created": 0, "owned_by": "liquidcare"}]}
