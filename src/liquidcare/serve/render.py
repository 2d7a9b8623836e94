"""Store objects and finished chat turns as the JSON the API sends (OpenAI's shapes where the
endpoint is OpenAI's)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, is_dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from liquidcare.errors import UserError

from . import errors
from .engine import Job
from .service import Turn
from .streaming import SentenceGate, client_events


def to_json(obj: Any) -> Any:
    """A store object (dataclass, pydantic model, or anything with to_dict) as JSON values."""
    if hasattr(obj, "to_dict"):
        obj = obj.to_dict()
    elif is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    elif hasattr(obj, "model_dump"):
        obj = obj.model_dump()
    return jsonable_encoder(obj)


def conversation_json(conv: Any, messages: bool = True) -> dict[str, Any]:
    out = {k: getattr(conv, k, None) for k in ("id", "twin_id", "created_at")}
    if messages:
        out["messages"] = [
            {k: getattr(m, k, None) for k in ("id", "role", "content", "model_version",
                                               "created_at")}
            for m in getattr(conv, "messages", [])
        ]
    return jsonable_encoder(out)


def reply_of(turn: Turn, job: Job | None) -> tuple[str, Any, str, str]:
    """(text, stored message id, model version, finish reason) of a finished turn."""
    if job is None:
        return turn.blocked_reply or "", turn.reply_id, turn.version, "content_filter"
    return job.text, job.extra.get("message_id"), job.version, job.finish_reason


def usage(job: Job | None) -> dict[str, int]:
    prompt = job.prompt_tokens if job else 0
    completion = job.completion_tokens if job else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def completion(turn: Turn, job: Job | None, completion_id: str, created: int) -> dict[str, Any]:
    text, message_id, version, finish = reply_of(turn, job)
    return jsonable_encoder({
        "id": completion_id, "object": "chat.completion", "created": created, "model": version,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish, "logprobs": None}],
        "usage": usage(job),
        # extensions: where the reply is stored, for /v1/feedback and for continuing the chat
        "message_id": message_id, "conversation_id": turn.conversation_id,
    })


async def sse(turn: Turn, job: Job | None, events: AsyncIterator[Any] | None,
              completion_id: str, created: int, include_usage: bool, *,
              gate: SentenceGate | None = None, journal: Any = None, store: Any = None,
              request_id: str = "-", on_done: Callable[[dict[str, Any]], None] | None = None,
              ) -> AsyncIterator[str]:
    """Server-sent events: one chunk per piece of text (per checked sentence with a guard), a
    last chunk with the finish reason and the stored message id, then `data: [DONE]`.

    A failure mid-stream stores what the client saw (marked partial) and ends with an error
    chunk in OpenAI's shape and `[DONE]`, so the client is not left waiting. `on_done` gets the
    whole completion once the reply is stored (for Idempotency-Key replays); if the client goes
    away first, the rest of the job is awaited in the background for it.
    """
    version = job.version if job else turn.version

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": version,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                             "logprobs": None}], **extra}
        return f"data: {json.dumps(jsonable_encoder(body), ensure_ascii=False)}\n\n"

    finished = False
    try:
        yield chunk({"role": "assistant", "content": ""})
        if events is not None:
            entry = turn.extra.get("journal_id")
            async for kind, value in client_events(events, gate, journal, entry):
                if kind == "delta":
                    yield chunk({"content": value})
                elif kind == "replace":
                    # an output guard replaced text already sent: the extension field `replace`
                    # tells our clients to show this text instead of what came before
                    yield chunk({"content": value}, replace=True)
                elif kind == "error":
                    if journal is not None and entry is not None:
                        await run_in_threadpool(journal.store_partial, entry, store)
                    yield f"data: {json.dumps(_stream_error(value, request_id))}\n\n"
                    yield "data: [DONE]\n\n"
                    finished = True  # nothing to remember: a retry runs afresh
                    return
        else:
            yield chunk({"content": turn.blocked_reply or ""})
        text, message_id, _, finish = reply_of(turn, job)
        finished = True
        if on_done is not None:
            on_done(completion(turn, job, completion_id, created))
        yield chunk({}, finish, message_id=message_id, conversation_id=turn.conversation_id)
        if include_usage:
            body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                    "model": version, "choices": [], "usage": usage(job)}
            yield f"data: {json.dumps(body)}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        if not finished and job is not None and on_done is not None:
            # the client left mid-stream; the worker still stores the reply: remember it
            asyncio.get_running_loop().create_task(
                _remember_later(turn, job, events, completion_id, created, on_done))


async def _remember_later(turn: Turn, job: Job, events: AsyncIterator[Any] | None,
                          completion_id: str, created: int,
                          on_done: Callable[[dict[str, Any]], None]) -> None:
    if events is None:
        return
    async for event in events:
        if event.kind == "error":
            return
    on_done(completion(turn, job, completion_id, created))


def _stream_error(err: BaseException, request_id: str) -> dict[str, Any]:
    if isinstance(err, UserError):
        return errors.error_body(errors.status_of(err), str(err))
    errors.log_bug(request_id, "POST", "/v1/chat/completions (stream)", err)
    return errors.error_body(500, errors.internal_error_message(request_id),
                             code="internal_error")


async def sse_of(result: dict[str, Any]) -> AsyncIterator[str]:
    """A stored completion as a stream (an Idempotency-Key replay of a streamed request)."""
    base = {"id": result["id"], "object": "chat.completion.chunk", "created": result["created"],
            "model": result["model"]}
    choice = result["choices"][0]
    for delta, finish, extra in (
        ({"role": "assistant", "content": ""}, None, {}),
        ({"content": choice["message"]["content"]}, None, {}),
        ({}, choice["finish_reason"], {"message_id": result.get("message_id"),
                                       "conversation_id": result.get("conversation_id")}),
    ):
        body = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                     "logprobs": None}], **extra}
        yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
