"""POST /v1/feedback: a thumbs up or down on a stored reply (it becomes training data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import StoreDep, User
from ..render import to_json
from ..schemas import FeedbackRequest

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback")
def feedback(body: FeedbackRequest, user: User, store: StoreDep) -> dict[str, Any]:
    rating = store.rate(body.message_id, value=body.value, by=user, comment=body.comment)
    return {"object": "feedback", "rating": to_json(rating)}
