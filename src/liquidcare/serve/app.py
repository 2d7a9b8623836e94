"""The HTTP API: OpenAI chat completions, feedback, twins, admin, and the web chat page.

    app = create_app(engine, store, guard=None)
    uvicorn.run(app, host="127.0.0.1", port=8000)

`create_app` only assembles: the app state (engine, store, guard, chat service), the error
handlers, the body limit, and one `APIRouter` per resource from `liquidcare.serve.routes`
(FastAPI's "bigger applications" layout). Every /v1 endpoint needs
`Authorization: Bearer <api key>` (keys come from `liquidcare users add`; the dependency is
`liquidcare.serve.deps.current_user`); what a user may read and write is decided by the store.
Admin endpoints need the admin role.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from . import errors
from .engine import Engine
from .guard import GuardLike
from .limits import BodyLimit
from .routes import ROUTERS
from .routes.health import WEB_DIR
from .service import ChatService


def create_app(engine: Engine, store: Any, guard: GuardLike | None = None, *,
               default_max_tokens: int = 256, model_dir: str | None = None,
               grounder: Any = None) -> FastAPI:
    """The FastAPI app around one engine and one store (see the module docstring)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # on shutdown, answer and store what is already queued before the process exits
        await run_in_threadpool(engine.close, 120.0)

    app = FastAPI(title="Genuine Carers chat API", version="1", docs_url="/docs",
                  redoc_url=None, lifespan=lifespan)
    app.state.engine = engine
    app.state.store = store
    app.state.guard = guard
    app.state.service = ChatService(engine, store, guard, default_max_tokens=default_max_tokens,
                                    grounder=grounder)  # grounder: serve/grounding.py
    app.state.model_dir = model_dir
    errors.install(app)
    app.add_middleware(BodyLimit)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
