"""The error responses every /v1 route documents (OpenAI's error shape), so the OpenAPI schema
lists each status a client can get and what its body looks like."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _error(description: str, **headers: str) -> dict[str, Any]:
    out: dict[str, Any] = {"model": ErrorBody, "description": description}
    if headers:
        out["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                          for name, text in headers.items()}
    return out


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Bad JSON, or a conversation longer than the model reads"),
    401: _error("No API key, or an unknown one",
                **{"WWW-Authenticate": "Bearer"}),
    403: _error("The caller's role may not use this endpoint"),
    404: _error("No such record, or none the caller may see"),
    409: _error("A stale version, a conversation of another twin, or a retry while the first "
                "request with its Idempotency-Key is running", **{"Retry-After": "seconds"}),
    413: _error("The body is larger than 256 KiB"),
    422: _error("A malformed request; the message names the field"),
    429: _error("Too many requests for this key", **{"Retry-After": "seconds"}),
    500: _error("A bug of ours; the message carries the request id of the log line"),
    503: _error("The model's queue is full, or the server is stopping",
                **{"Retry-After": "seconds"}),
}
