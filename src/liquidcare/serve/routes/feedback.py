"""POST /v1/feedback: a thumbs up or down on a stored reply (it becomes training data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import StoreDep, User
from ..errors import hidden
from ..openapi import ERROR_RESPONSES
from ..render import to_json
from ..schemas import FeedbackRequest

router = APIRouter(prefix="/v1", tags=["feedback"], responses=ERROR_RESPONSES)


@router.post("/feedback")
def feedback(body: FeedbackRequest, user: User, store: StoreDep) -> dict[str, Any]:
    # rating again replaces the earlier rating: a retried request stores nothing twice
    with hidden("message", body.message_id):
        rating = store.rate(body.message_id, value=body.value, by=user, comment=body.comment)
    return {"object": "feedback", "rating": to_json(rating)}
