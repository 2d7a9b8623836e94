"""Reading the audit log and the erasure records."""

from __future__ import annotations

from sqlalchemy import select

from .base import Actor, StoreBase
from .errors import PermissionDeniedError
from .models import AdapterErasureRow, AuditRow, ErasureRow, TwinRow
from .records import AuditEntry, Erasure


class AuditPart(StoreBase):
    def audit(self, person_id: int, by: Actor = None) -> list[AuditEntry]:
        """Who read or changed what about a person, oldest first (admins and the operator)."""
        with self._tx() as s:
            actor = self._actor(s, by)
            if actor is not None and actor.role != "admin":
                twin = s.get(TwinRow, person_id)
                if twin is None or twin.person_user_id != actor.id:
                    raise PermissionDeniedError("only an admin or the person may read the audit")
            rows = s.scalars(
                select(AuditRow).where(AuditRow.twin_id == person_id).order_by(AuditRow.id)
            )
            return [
                AuditEntry(
                    id=r.id, at=r.at, actor_id=r.actor_id, actor_role=r.actor_role,
                    action=r.action, kind=r.kind, twin_id=r.twin_id, object_id=r.object_id,
                ) for r in rows
            ]

    def erasures(self) -> list[Erasure]:
        with self._tx() as s:
            models: dict[int, dict[str, int]] = {}
            for m in s.scalars(select(AdapterErasureRow)):
                models.setdefault(m.erasure_id, {})[m.adapter_version] = m.examples
            return [
                Erasure(id=r.id, at=r.at, by_user_id=r.by_user_id, by_role=r.by_role,
                        person_id=r.person_id, kinds=dict(r.kinds),
                        models=models.get(r.id, {}))
                for r in s.scalars(select(ErasureRow).order_by(ErasureRow.id))
            ]
