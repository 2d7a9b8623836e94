"""GET /v1/conversations[/{id}]: the caller's own conversations, with their messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import StoreDep, User
from ..render import conversation_json

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])


@router.get("")
def conversations(user: User, store: StoreDep) -> dict[str, Any]:
    return {"object": "list", "data": [
        conversation_json(c, messages=False) for c in store.list_conversations(by=user)]}


@router.get("/{conversation_id}")
def conversation(conversation_id: int, user: User, store: StoreDep) -> dict[str, Any]:
    return conversation_json(store.get_conversation(conversation_id, by=user))
