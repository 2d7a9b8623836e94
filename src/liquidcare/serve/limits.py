"""ASGI middleware that refuses oversized bodies before any endpoint reads them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import errors
from .schemas import MAX_BODY_BYTES

# endpoints whose bodies are uploads, bigger by nature (25 MB is OpenAI's own audio file limit)
UPLOAD_LIMITS = {"/v1/audio/transcriptions": 25 * 1024 * 1024}


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
        limit = UPLOAD_LIMITS.get(scope.get("path", ""), self.limit)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, send, limit)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._too_large(scope, send, limit)
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

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        response = errors.error_response(
            413, f"the request body is larger than {limit} bytes", code="body_too_large")
        await response(scope, lambda: None, send)  # type: ignore[arg-type]
