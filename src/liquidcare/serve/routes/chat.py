"""POST /v1/chat/completions: OpenAI's chat completions, plain or streamed (server-sent events)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from liquidcare.errors import UserError

from .. import images, render
from ..deps import ServiceDep, User
from ..engine import GenerationParams
from ..schemas import ChatCompletionRequest
from ..service import Turn

router = APIRouter(prefix="/v1", tags=["chat"])


class BadIdError(UserError):
    """An id field that is not a number."""

    status = 422


def as_id(value: str | int | None, field: str) -> int | None:
    """Store ids are integers; `user` and `conversation_id` arrive as strings in OpenAI's schema."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip()
    if not text.isdigit():
        what = "a twin id" if field == "user" else "a conversation id"
        raise BadIdError(f"{field} must be {what} (a whole number), got {value!r}")
    return int(text)


@router.post("/chat/completions")
async def chat_completions(body: ChatCompletionRequest, user: User, service: ServiceDep,
                           x_conversation_id: Annotated[str | None, Header()] = None,
                           ) -> Any:
    conversation_id = as_id(body.conversation_id or x_conversation_id, "conversation_id")
    twin_id = as_id(body.user, "user")
    # photos are read into text first (serve/images.py): the guard and the model see that text
    messages = await run_in_threadpool(images.chat_messages, body.messages, service.store, user,
                                       twin_id, conversation_id)
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
        stream = render.sse(turn, job, events if job else None, completion_id, created,
                            include_usage)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache"})
    if job is not None:
        async for event in events:
            if event.kind == "error":
                raise event.error  # type: ignore[misc]
    return JSONResponse(render.completion(turn, job, completion_id, created), headers=headers)
