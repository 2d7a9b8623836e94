"""Store objects and finished chat turns as the JSON the API sends (OpenAI's shapes where the
endpoint is OpenAI's)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict, is_dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder

from . import errors
from .engine import Job
from .service import Turn


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
        # extensions: where the reply is stored, for /v1/feedback and for continuing the chat,
        # and the knowledge-base passages it was built on
        "message_id": message_id, "conversation_id": turn.conversation_id,
        "sources": job.extra.get("sources", []) if job else [],
    })


async def sse(turn: Turn, job: Job | None, events: AsyncIterator[Any] | None,
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
    text, message_id, _, finish = reply_of(turn, job)
    yield chunk({}, finish, message_id=message_id, conversation_id=turn.conversation_id,
                sources=job.extra.get("sources", []) if job else [])
    if include_usage:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": version, "choices": [], "usage": usage(job)}
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"
