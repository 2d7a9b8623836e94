"""GET /v1/conversations[/{id}]: the caller's own conversations, with their messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import StoreDep, User
from ..errors import hidden
from ..openapi import ERROR_RESPONSES
from ..render import conversation_json
from ..schemas import PathId

router = APIRouter(prefix="/v1/conversations", tags=["conversations"],
                   responses=ERROR_RESPONSES)


@router.get("")
def conversations(user: User, store: StoreDep) -> dict[str, Any]:
    return {"object": "list", "data": [
        conversation_json(c, messages=False) for c in store.list_conversations(by=user)]}


@router.get("/{conversation_id}")
def conversation(conversation_id: PathId, user: User, store: StoreDep) -> dict[str, Any]:
    with hidden("conversation", conversation_id):
        return conversation_json(store.get_conversation(conversation_id, by=user))
