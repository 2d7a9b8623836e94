"""Every failure as a JSON error in OpenAI's shape, with the status that fits it.

    {"error": {"message": "...", "type": "invalid_request_error", "param": "messages", "code": ...}}

OpenAI clients read exactly this, so a tool pointed at our server shows our message. Bad input is
a 4xx naming the problem; a 500 is kept for our own bugs (and logged).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liquidcare.errors import UserError

from .engine import EngineBusyError, EngineStoppedError

log = logging.getLogger(__name__)

# store errors by class name: the server does not need to import the store to map them
STATUS_BY_NAME = {
    "NotFoundError": 404,
    "PermissionDeniedError": 403,
    "StaleWriteError": 409,
    "ConversationMismatchError": 409,
    "ValidationError": 422,
    "PromptTooLongError": 400,
}
TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_overloaded",
}


def error_body(status: int, message: str, param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": TYPE_BY_STATUS.get(status, "server_error"),
                      "param": param, "code": code}}


def error_response(status: int, message: str, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, param, code), status_code=status,
                        headers=headers)


def status_of(err: BaseException) -> int:
    status = getattr(err, "status", None)  # the store's errors carry their own
    if isinstance(status, int) and 400 <= status < 600:
        return status
    for klass in type(err).__mro__:
        if klass.__name__ in STATUS_BY_NAME:
            return STATUS_BY_NAME[klass.__name__]
    return 400


class HiddenError(UserError):
    """A record the caller may not see, answered as if it did not exist (404): a 403 would tell
    a stranger which ids exist (ids are sequential)."""

    status = 404


def is_denied(err: BaseException) -> bool:
    return any(k.__name__ == "PermissionDeniedError" for k in type(err).__mro__)


class hidden:  # noqa: N801 - used as a context manager: `with hidden("twin", twin_id):`
    """Turns the store's PermissionDeniedError about one record into a 404 naming it.

    `known`, when given, says whether the caller may know the record exists (it is called only
    on a refusal); then the refusal stays a 403 (their role may not do this to it).
    """

    def __init__(self, kind: str, ident: Any, known: Any = None) -> None:
        self.kind, self.ident, self.known = kind, ident, known

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: BaseException | None, tb: Any) -> None:
        if err is not None and is_denied(err):
            if self.known is not None:
                try:
                    self.known()
                    return  # they may see it: the 403 stands
                except Exception:  # noqa: BLE001, S110 - any refusal: hide it
                    pass
            raise HiddenError(f"no {self.kind} {self.ident}") from None


def _validation_message(err: RequestValidationError) -> tuple[int, str, str | None]:
    problems = []
    first_param = None
    for e in err.errors():
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        if e.get("type") == "json_invalid":
            return 400, f"the body is not valid JSON: {e.get('msg')}", None
        where = ".".join(loc) or "body"
        first_param = first_param or where
        if e.get("type") == "extra_forbidden":
            problems.append(f"{where}: unknown field")
        else:
            problems.append(f"{where}: {e.get('msg')}")
    return 422, "; ".join(problems[:5]) or "invalid request", first_param


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        status, message, param = _validation_message(err)
        return error_response(status, message, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return error_response(err.status_code, str(err.detail), headers=err.headers)

    @app.exception_handler(UserError)
    async def _user(request: Request, err: UserError) -> JSONResponse:
        retry = getattr(err, "retry_after", None)  # 429 (rate limit), 409 (a retry too soon)
        headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
        return error_response(status_of(err), str(err), headers=headers)

    @app.exception_handler(EngineBusyError)
    async def _busy(request: Request, err: EngineBusyError) -> JSONResponse:
        return error_response(503, str(err), code="queue_full",
                              headers={"Retry-After": str(err.retry_after)})

    @app.exception_handler(EngineStoppedError)
    async def _stopped(request: Request, err: EngineStoppedError) -> JSONResponse:
        return error_response(503, "the server is shutting down", headers={"Retry-After": "5"})



# -- every request gets an id; every unexpected exception becomes one clean 500 -----------------
REQUEST_ID_HEADER = "X-Request-Id"
_CLIENT_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


def request_id(scope_or_request: Any) -> str:
    """The id `RequestContext` gave this request ('-' outside one)."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    return str(scope.get("state", {}).get("request_id", "-"))


def internal_error_message(rid: str) -> str:
    return f"internal error; the server log has the details under request id {rid}"


def log_bug(rid: str, method: str, path: str, err: BaseException) -> None:
    """One line a bug, with the request id the client got; the traceback only at DEBUG."""
    log.error("500 request_id=%s %s %s: %s: %s", rid, method, path, type(err).__name__,
              str(err).splitlines()[0][:300] if str(err) else "")
    log.debug("traceback of request %s", rid, exc_info=err)


class RequestContext:
    """Outermost middleware: a request id for each request (the client's own `X-Request-Id` when
    it is a plain token, else a new one), returned in the `X-Request-Id` header of every
    response; and any exception the app lets through answered as an OpenAI-shaped 500.

    Starlette's own `exception_handler(Exception)` sends its 500 and then re-raises, so the
    server logs a traceback and resets the kept-alive connection (the client's *next* request
    fails too). Here the exception stops: the response is complete, the connection stays
    usable, and the log gets one line naming the request id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        rid = given.decode() if _CLIENT_ID.match(given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as err:  # noqa: BLE001 - the one place a bug becomes a clean 500
            log_bug(rid, scope.get("method", "?"), scope.get("path", "?"), err)
            if started:
                # the status is gone already (a stream): end the body cleanly instead of
                # resetting the connection
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            response = error_response(500, internal_error_message(rid), code="internal_error")
            await response(scope, receive, send_with_id)
