"""Training sets made from the store: rated replies as TRL KTO rows, and which adapter versions
learnt from which replies (so that an erasure can name the models that still carry the data)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from liquidcare import atomic

from .base import StoreBase, twin_snapshot
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
)
from .records import CarriedErasure


class TrainingPart(StoreBase):
    def training_rows(self) -> Iterator[dict[str, Any]]:
        """One row per rated assistant reply (TRL's KTO format), oldest first.

        The label is the sign of the sum of the reply's ratings; replies whose ratings cancel
        out are skipped. The prompt is every message before the reply, starting with the twin's
        system prompt when the conversation has a twin and stored no system message itself.
        Data of forgotten people is gone from the tables, so it can never appear here.
        """
        with self._tx() as s:
            scores = s.execute(
                select(RatingRow.message_id, func.sum(RatingRow.value))
                .group_by(RatingRow.message_id).order_by(RatingRow.message_id)
            ).all()
            by_conv: dict[int, list[tuple[int, int]]] = {}
            for message_id, score in scores:
                msg = s.get(MessageRow, message_id)
                if msg is None or msg.role != "assistant" or not score:
                    continue
                by_conv.setdefault(msg.conversation_id, []).append((message_id, int(score)))
            for conv_id in sorted(by_conv):
                conv = s.get(ConversationRow, conv_id)
                assert conv is not None
                twin = s.get(TwinRow, conv.twin_id) if conv.twin_id is not None else None
                history = [{"role": m.role, "content": m.content} for m in conv.messages]
                if twin is not None and not any(m.role == "system" for m in conv.messages):
                    prompt = twin_snapshot(twin).system_prompt()
                    history.insert(0, {"role": "system", "content": prompt})
                    offset = 1
                else:
                    offset = 0
                index = {m.id: i + offset for i, m in enumerate(conv.messages)}
                for message_id, score in by_conv[conv_id]:
                    i = index[message_id]
                    msg = s.get(MessageRow, message_id)
                    assert msg is not None
                    yield {
                        "prompt": history[:i],
                        "completion": [history[i]],
                        "label": score > 0,
                        "message_id": message_id,
                        "conversation_id": conv_id,
                        "twin_id": conv.twin_id,
                        "model_version": msg.model_version,
                    }

    def export_training_set(self, path: str | os.PathLike[str]) -> int:
        """Writes `training_rows()` as JSONL (atomically); returns the count of rows."""
        path = Path(path)
        if not path.parent.exists():
            raise StoreError(f"cannot write {path}: folder {path.parent} does not exist")
        count = 0
        # Only the owner may read a training set: it holds what people said about their health.
        with atomic.atomic_open(path, mode=0o600) as f:
            for row in self.training_rows():
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
