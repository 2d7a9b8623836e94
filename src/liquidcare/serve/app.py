"""The HTTP API: OpenAI chat completions, feedback, twins, admin, and the web chat page.

    app = create_app(engine, store, guard=None)
    uvicorn.run(app, host="127.0.0.1", port=8000)

Every /v1 endpoint needs `Authorization: Bearer <api key>` (keys come from
`liquidcare users add`); what a user may read and write is decided by the store, which raises
PermissionDeniedError (403) for anything not theirs. Admin endpoints need the admin role.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liquidcare.errors import UserError

from . import errors
from .engine import Engine, GenerationParams, Job
from .guard import GuardLike
from .schemas import (
    MAX_BODY_BYTES,
    ChatCompletionRequest,
    FeedbackRequest,
    ReloadRequest,
    TwinPatch,
)
from .service import ChatService, Turn

WEB_DIR = resources.files("liquidcare.serve") / "web"


class BodyLimit:
    """Refuse bodies over `limit` bytes with a 413 before any endpoint reads them.

    The body is read here (at most limit + 1 bytes) and replayed to the app, so a client that
    sends no Content-Length (chunked) is held to the same limit.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(scope, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._too_large(scope, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        response = errors.error_response(
            413, f"the request body is larger than {self.limit} bytes", code="body_too_large")
        await response(scope, lambda: None, send)  # type: ignore[arg-type]


# -- auth: module-level dependencies (FastAPI resolves annotations in this module's namespace) --
def current_user(request: Request,
                 authorization: Annotated[str | None, Header()] = None) -> Any:
    """The user whose API key is in `Authorization: Bearer <key>`, else 401."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'",
                            headers={"WWW-Authenticate": "Bearer"})
    user = request.app.state.store.authenticate(authorization[7:].strip())
    if user is None:
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    return user


User = Annotated[Any, Depends(current_user)]


def admin_user(user: User) -> Any:
    if getattr(user, "role", None) != "admin":
        raise HTTPException(403, "this endpoint needs the admin role")
    return user


Admin = Annotated[Any, Depends(admin_user)]


def to_json(obj: Any) -> Any:
    """A store object (dataclass, pydantic model, or anything with to_dict) as JSON values."""
    if hasattr(obj, "to_dict"):
        obj = obj.to_dict()
    elif is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    elif hasattr(obj, "model_dump"):
        obj = obj.model_dump()
    return jsonable_encoder(obj)


def create_app(engine: Engine, store: Any, guard: GuardLike | None = None, *,
               default_max_tokens: int = 256, model_dir: str | None = None,
               grounder: Any = None) -> FastAPI:
    """The FastAPI app around one engine and one store (see the module docstring)."""
    service = ChatService(engine, store, guard, default_max_tokens=default_max_tokens,
                          grounder=grounder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # on shutdown, answer and store what is already queued before the process exits
        await run_in_threadpool(engine.close, 120.0)

    app = FastAPI(title="Genuine Carers chat API", version="1", docs_url="/docs",
                  redoc_url=None, lifespan=lifespan)
    app.state.service = service
    app.state.store = store
    app.state.model_dir = model_dir
    errors.install(app)
    app.add_middleware(BodyLimit)

    # -- the page and health ------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(WEB_DIR / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(WEB_DIR)), name="static")

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        # a load balancer takes a server whose database does not answer out of rotation
        store_ok = bool(store.ping()) if hasattr(store, "ping") else True
        body = {"status": "ok" if store_ok else "store unreachable", "model": engine.version,
                "queued": engine.queued, "busy": engine.busy, "served": engine.served,
                "guard": guard is not None, "store": store_ok}
        return JSONResponse(body, status_code=200 if store_ok else 503)

    # -- OpenAI -------------------------------------------------------------------------------
    @app.get("/v1/models")
    def models(user: User) -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": engine.version, "object": "model", "created": 0, "owned_by": "liquidcare"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request,
                               user: User,
                               x_conversation_id: Annotated[str | None, Header()] = None,
                               ) -> Any:
        conversation_id = _as_id(body.conversation_id or x_conversation_id, "conversation_id")
        twin_id = _as_id(body.user, "user")
        messages = [{"role": m.role, "content": m.text()} for m in body.messages]
        turn: Turn = await run_in_threadpool(service.prepare, user, messages, twin_id,
                                             conversation_id)
        created = int(time.time())
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        headers = {"X-Conversation-Id": str(turn.conversation_id)}
        if turn.blocked_reply is not None:
            job = None
        else:
            params = GenerationParams(
                max_tokens=body.max_completion_tokens or body.max_tokens
                or service.default_max_tokens,
                # None: the model's default (configs/decoding.yaml)
                temperature=body.temperature, top_p=body.top_p,
                frequency_penalty=body.frequency_penalty, presence_penalty=body.presence_penalty,
                seed=body.seed, stop=body.stops(),
            )
            job = service.start(user, turn, params, loop=asyncio.get_running_loop())
            events = job.aevents()
            first = await anext(events)  # start, or an error such as a prompt too long
            if first.kind == "error":
                raise first.error  # type: ignore[misc]
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            stream = _sse(turn, job, events if job else None, completion_id, created,
                          include_usage)
            return StreamingResponse(stream, media_type="text/event-stream",
                                     headers={**headers, "Cache-Control": "no-cache"})
        if job is not None:
            async for event in events:
                if event.kind == "error":
                    raise event.error  # type: ignore[misc]
        return JSONResponse(_completion(turn, job, completion_id, created), headers=headers)

    # -- feedback and conversations ---------------------------------------------------------
    @app.post("/v1/feedback")
    def feedback(body: FeedbackRequest, user: User) -> dict[str, Any]:
        rating = store.rate(body.message_id, value=body.value, by=user, comment=body.comment)
        return {"object": "feedback", "rating": to_json(rating)}

    @app.get("/v1/conversations")
    def conversations(user: User) -> dict[str, Any]:
        return {"object": "list", "data": [
            _conversation_json(c, messages=False) for c in store.list_conversations(by=user)]}

    @app.get("/v1/conversations/{conversation_id}")
    def conversation(conversation_id: int, user: User) -> dict[str, Any]:
        return _conversation_json(store.get_conversation(conversation_id, by=user))

    # -- twins --------------------------------------------------------------------------------
    @app.get("/v1/twins")
    def list_twins(user: User) -> dict[str, Any]:
        return {"object": "list", "data": [to_json(t) for t in store.list_twins(by=user)]}

    @app.post("/v1/twins", status_code=201)
    def create_twin(body: dict[str, Any], user: User) -> Any:
        return to_json(store.create_twin(body, by=user))

    @app.get("/v1/twins/{twin_id}")
    def get_twin(twin_id: int, user: User) -> Any:
        return to_json(store.get_twin(twin_id, by=user))

    @app.patch("/v1/twins/{twin_id}")
    def patch_twin(twin_id: int, body: TwinPatch, user: User) -> Any:
        return to_json(store.update_twin(twin_id, body.changes,
                                         expected_version=body.expected_version, by=user))

    @app.get("/v1/twins/{twin_id}/timeline")
    def timeline(twin_id: int, user: User) -> dict[str, Any]:
        return {"object": "list", "data": [to_json(e) for e in store.timeline(twin_id, by=user)]}

    # -- admin --------------------------------------------------------------------------------
    @app.post("/v1/admin/reload")
    def reload(body: ReloadRequest, user: Admin) -> dict[str, Any]:
        before = engine.version
        version = engine.reload(body.model)
        app.state.model_dir = body.model
        return {"object": "reload", "previous": before, "model": version}

    # The person's rights: the store decides who may (an admin or the person; the export also
    # the twin's carers and clinicians), and audits it.
    @app.get("/v1/admin/persons/{person_id}/export")
    def export_person(person_id: int, user: User) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="liquidcare-export-") as tmp:
            store.export_person(person_id, tmp, by=user)
            files = {}
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file():
                    text = path.read_text(encoding="utf-8")
                    rel = str(path.relative_to(tmp))
                    files[rel] = json.loads(text) if path.suffix == ".json" else text
        return {"object": "person_export", "person_id": person_id, "files": files}

    @app.post("/v1/admin/persons/{person_id}/forget")
    def forget_person(person_id: int, user: User) -> dict[str, Any]:
        record = store.forget_person(person_id, by=user)
        return {"object": "erasure", "person_id": person_id, "record": to_json(record)}

    @app.get("/v1/admin/persons/{person_id}/audit")
    def audit(person_id: int, user: User) -> dict[str, Any]:
        return {"object": "list", "data": [to_json(e) for e in store.audit(person_id, by=user)]}

    return app


class BadIdError(UserError):
    """An id field that is not a number."""

    status = 422


def _as_id(value: str | int | None, field: str) -> int | None:
    """Store ids are integers; `user` and `conversation_id` arrive as strings in OpenAI's schema."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip()
    if not text.isdigit():
        what = "a twin id" if field == "user" else "a conversation id"
        raise BadIdError(f"{field} must be {what} (a whole number), got {value!r}")
    return int(text)


def _conversation_json(conv: Any, messages: bool = True) -> dict[str, Any]:
    out = {k: getattr(conv, k, None) for k in ("id", "twin_id", "created_at")}
    if messages:
        out["messages"] = [
            {k: getattr(m, k, None) for k in ("id", "role", "content", "model_version",
                                               "created_at")}
            for m in getattr(conv, "messages", [])
        ]
    return jsonable_encoder(out)


def _reply(turn: Turn, job: Job | None) -> tuple[str, Any, str, str]:
    """(text, stored message id, model version, finish reason) of a finished turn."""
    if job is None:
        return turn.blocked_reply or "", turn.reply_id, turn.version, "content_filter"
    return job.text, job.extra.get("message_id"), job.version, job.finish_reason


def _usage(job: Job | None) -> dict[str, int]:
    prompt = job.prompt_tokens if job else 0
    completion = job.completion_tokens if job else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _completion(turn: Turn, job: Job | None, completion_id: str, created: int) -> dict[str, Any]:
    text, message_id, version, finish = _reply(turn, job)
    return jsonable_encoder({
        "id": completion_id, "object": "chat.completion", "created": created, "model": version,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish, "logprobs": None}],
        "usage": _usage(job),
        # extensions: where the reply is stored, for /v1/feedback and for continuing the chat,
        # and the knowledge-base passages it was built on
        "message_id": message_id, "conversation_id": turn.conversation_id,
        "sources": job.extra.get("sources", []) if job else [],
    })


async def _sse(turn: Turn, job: Job | None, events: AsyncIterator[Any] | None,
               completion_id: str, created: int, include_usage: bool) -> AsyncIterator[str]:
    """Server-sent events: one chunk per text delta, a last chunk with the finish reason and the
    stored message id, then `data: [DONE]`."""
    version = job.version if job else turn.version

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": version,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                             "logprobs": None}], **extra}
        return f"data: {json.dumps(jsonable_encoder(body), ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if events is not None:
        async for event in events:
            if event.kind == "delta":
                yield chunk({"content": event.text})
            elif event.kind == "replace":
                # an output guard replaced a reply that was partly sent: the extension field
                # `replace` tells our clients to show this text instead of what came before
                yield chunk({"content": event.text}, replace=True)
            elif event.kind == "error":
                message = str(event.error) or type(event.error).__name__
                yield f"data: {json.dumps(errors.error_body(500, message))}\n\n"
                return
    else:
        yield chunk({"content": turn.blocked_reply or ""})
    text, message_id, _, finish = _reply(turn, job)
    yield chunk({}, finish, message_id=message_id, conversation_id=turn.conversation_id,
                sources=job.extra.get("sources", []) if job else [])
    if include_usage:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": version, "choices": [], "usage": _usage(job)}
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"
