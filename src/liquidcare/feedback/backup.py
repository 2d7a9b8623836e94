"""Backup and restore of a SQLite store with SQLite's online backup API.

The backup copies pages from a live database while other connections keep reading and writing
(WAL mode), and yields a consistent snapshot: no need to stop the server. PostgreSQL has its own,
better tools, so a PostgreSQL store refuses and names them (see docs/store.md).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from liquidcare import atomic

from .base import StoreBase
from .engine import describe, migrate
from .errors import StoreError

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
    if not path.is_file():
        raise StoreError(f"no backup file at {path}")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{path} is not a SQLite database ({err})") from None
    if not {"alembic_version", "users", "twins", "messages"} <= tables:
        raise StoreError(f"{path} is a SQLite database but not a liquidcare store backup")


def restore(store: StoreBase, path: Path) -> None:
    """Replaces the store's whole content with the backup at `path`, then migrates it (a backup
    from an older version gets the newer schema)."""
    _require_sqlite(store, "store restore")
    path = path.expanduser()
    _check_backup(path)
    # Drop pooled connections first: they would otherwise keep reading the old pages.
    store.engine.dispose()
    raw = store.engine.raw_connection()
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(raw.driver_connection)  # type: ignore[arg-type]
        finally:
            source.close()
    finally:
        raw.close()
    store.engine.dispose()
    migrate(store.engine)


class BackupPart(StoreBase):
    """Backup and restore as methods of the store."""

    def backup(self, path: str | os.PathLike[str]) -> Path:
        return backup(self, Path(path))

    def restore(self, path: str | os.PathLike[str]) -> None:
        restore(self, Path(path))
