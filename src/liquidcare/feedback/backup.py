"""Backup and restore of a SQLite store with SQLite's online backup API (restores checked
whole first, the live store kept, erasures re-applied: see `restore`).

The backup copies pages from a live database while other connections keep reading and writing
(WAL mode), and yields a consistent snapshot: no need to stop the server. PostgreSQL has its own,
better tools, so a PostgreSQL store refuses and names them (see docs/store.md).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from liquidcare import atomic

from .base import StoreBase
from .engine import describe, migrate
from .errors import StoreError
from .models import AdapterErasureRow, AdapterRow, AuditRow, ErasureRow, TwinRow, utcnow
from .rights import erase_rows

PG_HINT = (
    "back up a PostgreSQL store with its own tools: "
    "pg_dump --format=custom --file=care.dump DBNAME, "
    "and restore with pg_restore --clean --if-exists --dbname=DBNAME care.dump"
)


def _require_sqlite(store: StoreBase, what: str) -> None:
    if store.dialect != "sqlite":
        raise StoreError(f"`{what}` works on SQLite stores only; {describe(store.target)}: "
                         + PG_HINT)


def backup(store: StoreBase, path: Path) -> Path:
    """Writes a consistent copy of the live store to `path` (atomically, `liquidcare.atomic`)."""
    _require_sqlite(store, "store backup")
    path = path.expanduser()
    if not path.parent.exists():
        raise StoreError(f"cannot write the backup {path}: folder {path.parent} does not exist")
    raw = store.engine.raw_connection()
    try:
        # 0600: a backup holds everything the store holds.
        with atomic.atomic_path(path, mode=0o600) as tmp:
            dest = sqlite3.connect(tmp)
            try:
                raw.driver_connection.backup(dest)  # type: ignore[union-attr]
                # A backup is one self-contained file: no -wal beside it.
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
    finally:
        raw.close()
    return path


def _check_backup(path: Path) -> None:
    """Refuses anything but a whole liquidcare store: SQLite's full `integrity_check` reads
    every page, so a backup with damaged pages is refused before the live store is touched."""
    if not path.is_file():
        raise StoreError(f"no backup file at {path}")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            problems = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{path} is not a SQLite database, or a damaged one ({err}); "
                         "nothing was restored") from None
    if problems != ["ok"]:
        raise StoreError(f"{path} is damaged (integrity check: {problems[0]}"
                         f"{f' and {len(problems) - 1} more' if len(problems) > 1 else ''}); "
                         "nothing was restored, the store is unchanged")
    if not {"alembic_version", "users", "twins", "messages"} <= tables:
        raise StoreError(f"{path} is a SQLite database but not a liquidcare store backup")


@dataclass
class RestoreReport:
    """What a restore did besides copying the backup in."""

    backup: Path
    kept_copy: Path  # the store as it was just before, to go back to
    reapplied_erasures: list[int] = field(default_factory=list)  # erasure ids applied again
    audit_entries_kept: int = 0  # audit entries newer than the backup, carried over


def _copy_into(store: StoreBase, source_path: Path) -> None:
    # Drop pooled connections first: they would otherwise keep reading the old pages.
    store.engine.dispose()
    raw = store.engine.raw_connection()
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        try:
            source.backup(raw.driver_connection)  # type: ignore[arg-type]
        finally:
            source.close()
    finally:
        raw.close()
    store.engine.dispose()


def _live_problems(store: StoreBase) -> list[str]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]


def _history(store: StoreBase) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                        list[dict[str, Any]]]:
    """The live store's erasure records, their adapter marks and its audit log, as plain rows."""
    def rows(s: Any, model: Any, order: Any) -> list[dict[str, Any]]:
        cols = [c.key for c in model.__table__.columns]
        return [{c: getattr(r, c) for c in cols} for r in s.scalars(select(model).order_by(order))]

    with store._tx() as s:
        return (rows(s, ErasureRow, ErasureRow.id),
                rows(s, AdapterErasureRow, AdapterErasureRow.erasure_id),
                rows(s, AuditRow, AuditRow.id))


def restore(store: StoreBase, path: Path) -> RestoreReport:
    """Replaces the store's whole content with the backup at `path`, then migrates it (a backup
    from an older version gets the newer schema).

    Before anything, the backup must pass SQLite's full integrity check; then a copy of the live
    store is kept beside it (`<store>.before-restore-<UTC time>`, 0600). A backup older than an
    erasure would bring the erased person back: every erasure record of the live store that the
    backup lacks is applied again (the person's rows deleted, the record and its adapter marks
    kept), and the audit entries written since the backup are carried over, so the log still
    shows who read the record and that it was erased.
    """
    _require_sqlite(store, "store restore")
    path = path.expanduser()
    _check_backup(path)
    live = Path(store.engine.url.database or "")
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    kept = backup(store, live.with_name(f"{live.name}.before-restore-{stamp}"))
    erasures, marks, audit = _history(store)
    _copy_into(store, path)
    if _live_problems(store) != ["ok"]:  # the copy itself went wrong: go back as we were
        _copy_into(store, kept)
        raise StoreError(f"restoring {path} left a damaged store; the previous content is back")
    migrate(store.engine)
    report = RestoreReport(backup=path, kept_copy=kept)
    with store._tx(write=True) as s:
        have = {(e.id, e.person_id) for e in s.scalars(select(ErasureRow))}
        newest_audit = s.scalar(select(func.max(AuditRow.id))) or 0
        for e in erasures:
            if (e["id"], e["person_id"]) in have:
                continue
            twin = s.get(TwinRow, e["person_id"])
            if twin is not None:
                erase_rows(s, twin)
            free = s.get(ErasureRow, e["id"]) is None
            row = ErasureRow(**{**e, "id": e["id"] if free else None})
            s.add(row)
            s.flush()
            for m in marks:
                if m["erasure_id"] != e["id"]:
                    continue
                if s.get(AdapterRow, m["adapter_version"]) is None:
                    s.add(AdapterRow(version=m["adapter_version"]))
                    s.flush()
                s.add(AdapterErasureRow(adapter_version=m["adapter_version"],
                                        erasure_id=row.id, examples=m["examples"]))
            report.reapplied_erasures.append(row.id)
        for a in audit:
            if a["id"] > newest_audit:
                s.add(AuditRow(**{**a, "id": None}))
                report.audit_entries_kept += 1
        StoreBase._audit(s, None, "restore", "store", None)
    return report


class BackupPart(StoreBase):
    """Backup and restore as methods of the store."""

    def backup(self, path: str | os.PathLike[str]) -> Path:
        return backup(self, Path(path))

    def restore(self, path: str | os.PathLike[str]) -> RestoreReport:
        return restore(self, Path(path))
