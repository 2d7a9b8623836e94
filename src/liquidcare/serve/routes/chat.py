"""POST /v1/chat/completions: OpenAI's chat completions, plain or streamed (server-sent events).

The order of a turn is what keeps a refused request from writing: plan (reads, input guard),
queue the job (a full queue is a 503 here, nothing stored), wait until the model takes it (a
prompt too long for the model is a 400 here, nothing stored), then commit the user's messages;
the worker stores the reply after the commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import errors, images, render
from ..deps import ServiceDep, User
from ..engine import GenerationParams
from ..idempotency import KEY_PATTERN, fingerprint
from ..openapi import ERROR_RESPONSES
from ..schemas import ID_TEXT, ChatCompletionRequest
from ..service import ChatService, Turn

router = APIRouter(prefix="/v1", tags=["chat"], responses=ERROR_RESPONSES)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)]


def as_id(value: str | int | None) -> int | None:
    """Store ids are integers; `user` and `conversation_id` may arrive as digit strings (the
    schema has checked them: ASCII digits, bounded)."""
    return None if value is None else int(value)


# OpenAI's repetition controls go to the engine only if it takes them (as GenerationParams
# fields or as keyword arguments of `submit`); the API accepts them either way
_PARAM_FIELDS = {f.name for f in dataclasses.fields(GenerationParams)}


def _engine_takes(engine: Any, name: str) -> bool:
    try:
        params = inspect.signature(engine.submit).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def generation(body: ChatCompletionRequest, service: ChatService
               ) -> tuple[GenerationParams, dict[str, Any]]:
    """The request's decoding settings: what it does not set keeps the engine's default."""
    wanted: dict[str, Any] = {
        "max_tokens": body.max_completion_tokens or body.max_tokens
        or service.default_max_tokens,
        "temperature": body.temperature, "top_p": body.top_p, "seed": body.seed,
        "stop": body.stops(),
    }
    overrides: dict[str, Any] = {}
    for name in ("frequency_penalty", "presence_penalty"):
        value = getattr(body, name)
        if value is None:
            continue
        if name in _PARAM_FIELDS:
            wanted[name] = value
        elif _engine_takes(service.engine, name):
            overrides[name] = value
    params = GenerationParams(**{k: v for k, v in wanted.items() if v is not None})
    return params, overrides


@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, user: User, service: ServiceDep,
    x_conversation_id: Annotated[str | None, Header(pattern=ID_TEXT)] = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    cache = request.app.state.idempotency
    user_id = getattr(user, "id", user)
    if idempotency_key is not None:
        done = cache.begin(user_id, idempotency_key,
                           fingerprint("chat", body.model_dump_json()))
        if done is not None:
            return _replay(done, body.stream)
    try:
        response = await _answer(body, request, user, service, x_conversation_id,
                                 idempotency_key)
    except BaseException:
        if idempotency_key is not None:
            cache.abort(user_id, idempotency_key)
        raise
    return response


async def _answer(body: ChatCompletionRequest, request: Request, user: Any,
                  service: ChatService, x_conversation_id: str | None,
                  idempotency_key: str | None) -> Any:
    conversation_id = as_id(body.conversation_id or x_conversation_id)
    twin_id = as_id(body.user)
    which = ("conversation", conversation_id) if conversation_id is not None else (
        "twin", twin_id)
    with errors.hidden(*which):  # a twin or conversation not theirs: as if it did not exist
        # photos are read into text first (serve/images.py): the guard and the model see it
        messages = await run_in_threadpool(images.chat_messages, body.messages, service.store,
                                           user, twin_id, conversation_id)
        turn: Turn = await run_in_threadpool(service.plan, user, messages, twin_id,
                                             conversation_id)
    created = int(time.time())
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    job = events = None
    if turn.blocked_reply is not None:
        await run_in_threadpool(service.commit, turn)
    else:
        params, overrides = generation(body, service)
        job = service.start(user, turn, params, loop=asyncio.get_running_loop(),
                            stream=body.stream, **overrides)  # a full queue: 503, no writes
        events = job.aevents()
        try:
            first = await anext(events)  # the model took it, or refused (a prompt too long)
            if first.kind == "error":
                raise first.error  # type: ignore[misc]
            turn.version = job.version
            turn.extra["journal"] = body.stream  # what a stream shows is journalled
            await run_in_threadpool(service.commit, turn)
        finally:
            turn.cancel()  # a no-op once committed; otherwise the worker stores nothing
    headers = {"X-Conversation-Id": str(turn.conversation_id)}
    cache, user_id = request.app.state.idempotency, getattr(user, "id", user)

    def remember(result: dict[str, Any]) -> None:
        if idempotency_key is not None:
            cache.finish(user_id, idempotency_key, result)

    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        stream = render.sse(turn, job, events, completion_id, created, include_usage,
                            gate=service.gate(turn) if job is not None else None,
                            journal=service.journal, store=service.store,
                            request_id=errors.request_id(request), on_done=remember)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache"})
    if events is not None:
        async for event in events:
            if event.kind == "error":
                raise event.error  # type: ignore[misc]
    result = render.completion(turn, job, completion_id, created)
    remember(result)
    return JSONResponse(result, headers=headers)


def _replay(result: dict[str, Any], stream: bool) -> Any:
    """The stored answer of an earlier request with the same Idempotency-Key."""
    headers = {"X-Conversation-Id": str(result.get("conversation_id")),
               "Idempotent-Replayed": "true"}
    if stream:
        return StreamingResponse(render.sse_of(result), media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache"})
    return JSONResponse(result, headers=headers)
