"""Every failure as a JSON error in OpenAI's shape, with the status that fits it.

    {"error": {"message": "...", "type": "invalid_request_error", "param": "messages", "code": ...}}

OpenAI clients read exactly this, so a tool pointed at our server shows our message. Bad input is
a 4xx naming the problem; a 500 is kept for our own bugs (and logged).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
        return error_response(status_of(err), str(err))

    @app.exception_handler(EngineBusyError)
    async def _busy(request: Request, err: EngineBusyError) -> JSONResponse:
        return error_response(503, str(err), code="queue_full",
                              headers={"Retry-After": str(err.retry_after)})

    @app.exception_handler(EngineStoppedError)
    async def _stopped(request: Request, err: EngineStoppedError) -> JSONResponse:
        return error_response(503, "the server is shutting down", headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(err).__name__}); see the server log")
