"""Conversations, their messages, the users' ratings of replies and the guardrails' verdicts."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from .base import Actor, StoreBase, conversation_snapshot, message_snapshot
from .errors import NotFoundError, ValidationError
from .events import extract_events
from .models import (
    ConversationRow,
    EventRow,
    MessageRow,
    RatingRow,
    TwinRow,
    VerdictRow,
    utcnow,
)
from .records import Conversation, Message, Rating

MESSAGE_ROLES = ("system", "user", "assistant")
ORIGINS = ("client", "model", "guard")
GUARD_VERSION = "guard"  # model_version of a reply the guard wrote instead of the model
MAX_MESSAGE_CHARS = 100_000
VERDICT_STAGES = ("input", "output")


class ConversationsPart(StoreBase):
    def start_conversation(
        self, by: Actor, twin_id: int | None = None, title: str = ""
    ) -> Conversation:
        with self._tx(write=True) as s:
            actor = self._required_actor(s, by)
            if twin_id is not None:
                self._twin_for(s, twin_id, actor)
            row = ConversationRow(user_id=actor.id, twin_id=twin_id, title=title[:200])
            s.add(row)
            s.flush()
            return conversation_snapshot(row, with_messages=False)

    def get_conversation(self, conv_id: int, by: Actor) -> Conversation:
        pending: list[dict[str, Any]] = []
        with self._tx() as s:
            actor = self._actor(s, by)
            row = self._conversation_for(s, conv_id, actor, write=False)
            twin = s.get(TwinRow, row.twin_id) if row.twin_id is not None else None
            if twin is None:
                # A person's own chat without a twin attached is still about that person.
                twin = s.scalar(select(TwinRow).where(TwinRow.person_user_id == row.user_id)
                                .order_by(TwinRow.id).limit(1))
            # A carer reading their own chat about the person still reads about the person.
            self._audit_read(pending, actor, "conversation", twin, row.id)
            conv = conversation_snapshot(row, with_messages=True)
        self._log_reads(pending)
        return conv

    def list_conversations(self, by: Actor) -> list[Conversation]:
        """This user's conversations (without messages), newest first."""
        with self._tx() as s:
            actor = self._required_actor(s, by)
            rows = s.scalars(
                select(ConversationRow).where(ConversationRow.user_id == actor.id)
                .order_by(ConversationRow.id.desc())
            )
            return [conversation_snapshot(r, with_messages=False) for r in rows]

    def add_message(
        self, conv_id: int, role: str, content: str, by: Actor, model_version: str | None = None,
        origin: str | None = None, prompt: list[dict[str, Any]] | None = None,
        original_content: str | None = None,
    ) -> Message:
        """Appends a message. A user message in a twin's conversation is scanned for events,
        which land on the twin's timeline.

        `origin` says who wrote it: "client" (what the client sent, history included),
        "model" (a reply this server generated: needs its `model_version`) or "guard" (a reply
        the guard wrote or replaced: `model_version` becomes "guard", and `original_content`
        keeps the model's own words for audit). Without `origin`, an assistant message with a
        model version is the model's ("guard" for the guard's) and anything else the client's.
        `prompt` is the exact prompt the model saw, stored with a reply for training."""
        if role not in MESSAGE_ROLES:
            raise ValidationError(f"message role must be one of {', '.join(MESSAGE_ROLES)}")
        if not isinstance(content, str):
            raise ValidationError("message content must be a string")
        if len(content) > MAX_MESSAGE_CHARS:
            raise ValidationError(f"message longer than {MAX_MESSAGE_CHARS} characters")
        origin = _origin(role, model_version, origin)
        if origin == "guard":
            model_version = GUARD_VERSION
        elif origin == "client":
            model_version, original_content = None, None
        if prompt is not None:
            prompt = _checked_prompt(prompt)
        with self._tx(write=True) as s:
            actor = self._actor(s, by)
            conv = self._conversation_for(s, conv_id, actor, write=True)
            row = MessageRow(
                conversation_id=conv.id, role=role, content=content,
                model_version=model_version, origin=origin,
                prompt=prompt if origin != "client" else None,
                original_content=original_content if origin == "guard" else None,
            )
            s.add(row)
            s.flush()
            if role == "user" and conv.twin_id is not None:
                for found in extract_events(content):
                    s.add(EventRow(
                        twin_id=conv.twin_id, kind=found.kind, evidence=found.evidence,
                        message_id=row.id,
                    ))
            return message_snapshot(row)

    def rate(
        self, message_id: int, value: int, by: Actor, comment: str | None = None
    ) -> Rating:
        """A thumbs up (+1) or down (-1) on an assistant reply in the user's own conversation;
        rating the same reply again replaces the earlier rating."""
        if value not in (1, -1) or isinstance(value, bool):
            raise ValidationError("a rating is +1 (good) or -1 (bad)")
        if comment is not None and (not isinstance(comment, str) or len(comment) > 5000):
            raise ValidationError("a rating's comment must be a string of at most 5000 characters")
        with self._tx(write=True) as s:
            actor = self._required_actor(s, by)
            msg = s.get(MessageRow, message_id)
            if msg is None:
                raise NotFoundError(f"no message {message_id}")
            self._conversation_for(s, msg.conversation_id, actor, write=True)
            if msg.role != "assistant":
                raise ValidationError("only the assistant's replies can be rated")
            if msg.origin == "client":
                # A client may send any "assistant" turn as history; rating it would let anyone
                # write training data in the model's name.
                raise ValidationError(
                    f"message {message_id} was written by the client, not generated by this "
                    "server: only the server's own replies can be rated")
            row = s.scalar(select(RatingRow).where(
                RatingRow.message_id == message_id, RatingRow.user_id == actor.id
            ))
            if row is None:
                row = RatingRow(message_id=message_id, user_id=actor.id, value=value)
                s.add(row)
            row.value, row.comment, row.created_at = value, comment, utcnow()
            s.flush()
            return Rating(
                id=row.id, message_id=row.message_id, user_id=row.user_id, value=row.value,
                comment=row.comment, created_at=row.created_at,
            )

    def ratings(self, message_id: int, by: Actor) -> list[Rating]:
        with self._tx() as s:
            actor = self._actor(s, by)
            msg = s.get(MessageRow, message_id)
            if msg is None:
                raise NotFoundError(f"no message {message_id}")
            self._conversation_for(s, msg.conversation_id, actor, write=False)
            rows = s.scalars(select(RatingRow).where(RatingRow.message_id == message_id))
            return [
                Rating(id=r.id, message_id=r.message_id, user_id=r.user_id, value=r.value,
                       comment=r.comment, created_at=r.created_at) for r in rows
            ]

    def record_verdict(
        self, conversation_id: int, stage: str, verdict: dict[str, Any],
        message_id: int | None = None,
    ) -> int:
        """Stores a guardrail's decision (the server calls this; no user acts here)."""
        if stage not in VERDICT_STAGES:
            raise ValidationError(f"verdict stage must be one of {', '.join(VERDICT_STAGES)}")
        try:
            json.dumps(verdict)
        except (TypeError, ValueError) as err:
            raise ValidationError(f"a verdict must be JSON-serialisable: {err}") from None
        with self._tx(write=True) as s:
            if s.get(ConversationRow, conversation_id) is None:
                raise NotFoundError(f"no conversation {conversation_id}")
            row = VerdictRow(
                conversation_id=conversation_id, stage=stage, verdict=verdict,
                message_id=message_id,
            )
            s.add(row)
            s.flush()
            return row.id

    def verdicts(self, conversation_id: int) -> list[dict[str, Any]]:
        with self._tx() as s:
            rows = s.scalars(select(VerdictRow).where(
                VerdictRow.conversation_id == conversation_id).order_by(VerdictRow.id))
            return [
                {"id": r.id, "stage": r.stage, "verdict": r.verdict, "message_id": r.message_id}
                for r in rows
            ]


def _origin(role: str, model_version: str | None, origin: str | None) -> str:
    if origin is None:
        if role != "assistant" or model_version is None:
            return "client"
        return "guard" if model_version == GUARD_VERSION else "model"
    if origin not in ORIGINS:
        raise ValidationError(f"message origin must be one of {', '.join(ORIGINS)}")
    if origin != "client" and role != "assistant":
        raise ValidationError("only assistant messages come from the model or the guard")
    if origin == "model" and (not model_version or model_version == GUARD_VERSION):
        raise ValidationError("a model reply needs the version of the weights that wrote it")
    return origin


def _checked_prompt(prompt: Any) -> list[dict[str, Any]]:
    if not isinstance(prompt, list) or not all(
        isinstance(m, dict) and m.get("role") in (*MESSAGE_ROLES, "developer")
        and isinstance(m.get("content"), str) for m in prompt
    ):
        raise ValidationError("a reply's prompt must be a list of {role, content} messages")
    return [{"role": m["role"], "content": m["content"],
             "origin": m.get("origin") if m.get("origin") in (*ORIGINS, "server") else "client"}
            for m in prompt]
