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

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from . import errors
from .engine import Engine
from .guard import GuardLike
from .idempotency import IdempotencyCache
from .journal import PartialJournal
from .limits import BodyLimit
from .ratelimit import RateLimiter
from .routes import ROUTERS
from .routes.health import WEB_DIR
from .service import ChatService

DEFAULT_RATE_LIMIT = 120.0  # requests a minute per key: a person chats far slower than this


def create_app(engine: Engine, store: Any, guard: GuardLike | None = None, *,
               default_max_tokens: int = 256, model_dir: str | None = None,
               rate_limit: float | None = DEFAULT_RATE_LIMIT, rate_burst: int | None = None,
               journal: str | os.PathLike[str] | None = None,
               idempotency_entries: int = 10_000, idempotency_ttl_s: float = 24 * 3600,
               ) -> FastAPI:
    """The FastAPI app around one engine and one store (see the module docstring).

    `rate_limit`: requests a minute per API key (None: no limit), with bursts of `rate_burst`
    (default half a minute's worth). `journal`: the file where streamed text is journalled as
    it is sent (see `liquidcare.serve.journal`; None: no journal, a crash mid-stream loses the
    partial reply); replies a crash cut are stored from it now. `idempotency_*`: how many
    Idempotency-Key results are kept, and for how long.
    """
    partials = PartialJournal(journal) if journal is not None else None
    if partials is not None:
        partials.recover(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # on shutdown, answer and store what is already queued before the process exits
        await run_in_threadpool(engine.close, 120.0)
        if partials is not None:
            partials.close()

    app = FastAPI(title="Genuine Carers chat API", version="1", docs_url="/docs",
                  redoc_url=None, lifespan=lifespan)
    app.state.engine = engine
    app.state.store = store
    app.state.guard = guard
    app.state.service = ChatService(engine, store, guard, default_max_tokens=default_max_tokens,
                                    journal=partials)
    app.state.rate_limiter = RateLimiter(rate_limit, rate_burst) if rate_limit else None
    app.state.idempotency = IdempotencyCache(idempotency_entries, idempotency_ttl_s)
    app.state.model_dir = model_dir
    errors.install(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(errors.RequestContext)  # outermost: ids every request, catches bugs
    app.mount("/static", StaticFiles(directory=str(WEB_DIR)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
