"""Training sets made from the store: rated model replies as TRL prompt/completion rows with a
KTO label (the loss belongs on the completion only; the prompt is context), consent-checked and
masked, and which adapter versions learnt from which replies (so that an erasure can name the
models that still carry the data)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from liquidcare import atomic

from .base import StoreBase, twin_snapshot
from .consent import consenting
from .errors import NotFoundError, StoreError, ValidationError
from .models import (
    AdapterErasureRow,
    AdapterRow,
    ConversationRow,
    ErasureRow,
    MessageRow,
    RatingRow,
    TrainingExampleRow,
    TwinRow,
    UserRow,
)
from .records import CarriedErasure

TRAINING_SCOPES = ("research_retraining", "federated")


def exported_prompt(prompt: list[dict[str, Any]]) -> tuple[list[dict[str, str]], int]:
    """The prompt as a training row carries it, and how many turns were left out.

    Kept: the server's system prompt, the users' messages, and the replies the server itself
    wrote (model or guard). Left out: "assistant" and system turns a client sent as history,
    which no model wrote and which must never reach training, not even as context.
    """
    kept = []
    for m in prompt:
        origin = m.get("origin", "client")
        if m["role"] == "user" or (m["role"] == "assistant" and origin in ("model", "guard")) \
                or (m["role"] == "system" and origin == "server"):
            kept.append({"role": m["role"], "content": m["content"]})
    return kept, len(prompt) - len(kept)


# The serve layer's journal marks a reply cut short by a crash with this suffix on its model
# version (serve/journal.py); the store only needs the convention, not the serve package.
PARTIAL_SUFFIX = "+partial"


class TrainingPart(StoreBase):
    def training_rows(
        self, scope: str = "research_retraining", mask: bool = True
    ) -> Iterator[dict[str, Any]]:
        """One row per rated model reply (TRL's prompt/completion format with a KTO label),
        oldest first; what `export_training_set` writes and retraining reads.

        - Only replies this server generated (origin "model"): a client's "assistant" turn and
          a guard's reply are never a completion.
        - The prompt is the one the model saw, stored with the reply (`exported_prompt` drops
          client-written assistant and system turns from it). A reply stored before prompts
          were kept gets the conversation's stored messages before it, never a system prompt
          rebuilt from the twin's current fields.
        - Only while consent for `scope` holds: that of the user who held the conversation and,
          when it is about a twin, that of the person (see consent.py).
        - Every text masked (`pii.Masker`: the twin's field values, the account holder's name,
          and what Presidio finds), unless `mask=False` (tests of the masker only).

        The label is the sign of the sum of the reply's ratings; replies whose ratings cancel
        out are skipped. Data of forgotten people is gone from the tables, so it can never
        appear here.
        """
        from .pii import Masker

        if scope not in TRAINING_SCOPES:
            raise ValidationError(
                f"training scope must be one of {', '.join(TRAINING_SCOPES)}, not {scope!r}")
        with self._tx() as s:
            by_conv, _ = self._rated_replies(s, scope)
            for conv_id in sorted(by_conv):
                conv = s.get(ConversationRow, conv_id)
                assert conv is not None
                twin = s.get(TwinRow, conv.twin_id) if conv.twin_id is not None else None
                owner = s.get(UserRow, conv.user_id)
                masker = Masker(twin_snapshot(twin) if twin is not None else None,
                                names=[owner.name] if owner is not None else [])
                clean = masker if mask else (lambda text: text)
                for message_id, score in by_conv[conv_id]:
                    msg = s.get(MessageRow, message_id)
                    assert msg is not None
                    seen = msg.prompt if msg.prompt is not None else [
                        {"role": m.role, "content": m.content, "origin": m.origin}
                        for m in conv.messages if m.id < msg.id]
                    prompt, dropped = exported_prompt(seen)
                    yield {
                        "prompt": [{**m, "content": clean(m["content"])} for m in prompt],
                        "completion": [{"role": "assistant", "content": clean(msg.content)}],
                        "label": score > 0,
                        "message_id": message_id,
                        "conversation_id": conv_id,
                        "twin_id": conv.twin_id,
                        "model_version": msg.model_version,
                        "dropped_client_turns": dropped,
                        "scope": scope,  # the use consented to (a reader checks it)
                    }

    @staticmethod
    def _rated_replies(s: Any, scope: str) -> tuple[dict[int, list[tuple[int, int]]], int]:
        """({conversation id: [(reply id, score)]} of the rated model replies that may train
        for `scope`, how many rated model replies were left out for want of consent)."""
        twins_ok, users_ok = consenting(s, scope)
        scores = s.execute(
            select(RatingRow.message_id, func.sum(RatingRow.value))
            .group_by(RatingRow.message_id).order_by(RatingRow.message_id)
        ).all()
        by_conv: dict[int, list[tuple[int, int]]] = {}
        left_out = 0
        for message_id, score in scores:
            msg = s.get(MessageRow, message_id)
            if msg is None or msg.role != "assistant" or msg.origin != "model" or not score:
                continue
            if (msg.model_version or "").endswith(PARTIAL_SUFFIX):
                continue  # a reply cut by a crash is what the person saw, not a completion
            conv = s.get(ConversationRow, msg.conversation_id)
            if conv.user_id not in users_ok or (
                    conv.twin_id is not None and conv.twin_id not in twins_ok):
                left_out += 1
                continue
            by_conv.setdefault(msg.conversation_id, []).append((message_id, int(score)))
        return by_conv, left_out

    def without_consent(self, scope: str = "research_retraining") -> int:
        """How many rated model replies a training set for `scope` leaves out for want of the
        user's or the person's consent (for a command to say so)."""
        if scope not in TRAINING_SCOPES:
            raise ValidationError(
                f"training scope must be one of {', '.join(TRAINING_SCOPES)}, not {scope!r}")
        with self._tx() as s:
            return self._rated_replies(s, scope)[1]

    def export_training_set(
        self, path: str | os.PathLike[str], scope: str = "research_retraining"
    ) -> int:
        """Writes `training_rows(scope)` as JSONL (atomically); returns the count of rows."""
        path = Path(path)
        if not path.parent.exists():
            raise StoreError(f"cannot write {path}: folder {path.parent} does not exist")
        count = 0
        # Only the owner may read a training set: it holds what people said about their health.
        with atomic.atomic_open(path, mode=0o600) as f:
            for row in self.training_rows(scope):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        return count

    def record_training(self, adapter_version: str, message_ids: list[int]) -> None:
        """Notes that `adapter_version` learnt from these replies (so an erasure can find it)."""
        if not isinstance(adapter_version, str) or not adapter_version:
            raise ValidationError("adapter_version must be a non-empty string")
        with self._tx(write=True) as s:
            if s.get(AdapterRow, adapter_version) is None:
                s.add(AdapterRow(version=adapter_version))
                s.flush()
            known = set(s.scalars(select(MessageRow.id).where(MessageRow.id.in_(message_ids))))
            missing = sorted(set(message_ids) - known)
            if missing:
                raise NotFoundError(f"no message(s) {', '.join(map(str, missing[:10]))}")
            done = set(s.scalars(select(TrainingExampleRow.message_id).where(
                TrainingExampleRow.adapter_version == adapter_version)))
            for message_id in sorted(known - done):
                s.add(TrainingExampleRow(adapter_version=adapter_version, message_id=message_id))

    def trained_on(self, adapter_version: str) -> list[int]:
        with self._tx() as s:
            return list(s.scalars(
                select(TrainingExampleRow.message_id)
                .where(TrainingExampleRow.adapter_version == adapter_version)
                .order_by(TrainingExampleRow.message_id)
            ))

    def models_carrying_erased_data(self) -> list[CarriedErasure]:
        """Adapter versions that learnt from data erased since: retrain them without it."""
        with self._tx() as s:
            rows = s.execute(
                select(AdapterErasureRow, ErasureRow.at)
                .join(ErasureRow, ErasureRow.id == AdapterErasureRow.erasure_id)
                .order_by(AdapterErasureRow.adapter_version, AdapterErasureRow.erasure_id)
            ).all()
            return [
                CarriedErasure(
                    adapter_version=r.adapter_version, erasure_id=r.erasure_id, erased_at=at,
                    examples=r.examples,
                ) for r, at in rows
            ]
