"""FastAPI dependencies shared by the routers: who is calling, and the objects behind the app.

The routers never close over `create_app`'s locals: they read the engine, the store and the chat
service from `request.app.state` through these dependencies, so each router is a plain module
(FastAPI's "bigger applications" layout) and a test can build an app from any subset of them.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.exceptions import HTTPException

from .engine import Engine
from .service import ChatService


def current_user(request: Request,
                 authorization: Annotated[str | None, Header()] = None) -> Any:
    """The user whose API key is in `Authorization: Bearer <key>`, else 401."""
    limiter = request.app.state.rate_limiter
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'",
                            headers={"WWW-Authenticate": "Bearer"})
    key = authorization[7:].strip()
    user = request.app.state.store.authenticate(key)
    if user is None:
        if limiter is not None:  # guessing keys costs time: failures are limited per address
            client = request.client.host if request.client else "?"
            limiter.check(f"fail:{client}", "failed authentications from this address")
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    if limiter is not None:
        limiter.check("key:" + hashlib.sha256(key.encode()).hexdigest()[:32])
    return user


User = Annotated[Any, Depends(current_user)]


def admin_user(user: User) -> Any:
    if getattr(user, "role", None) != "admin":
        raise HTTPException(403, "this endpoint needs the admin role")
    return user


Admin = Annotated[Any, Depends(admin_user)]


def get_store(request: Request) -> Any:
    return request.app.state.store


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_service(request: Request) -> ChatService:
    return request.app.state.service


StoreDep = Annotated[Any, Depends(get_store)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ServiceDep = Annotated[ChatService, Depends(get_service)]
