"""Opening a database: a path means SQLite in WAL mode, a URL means that engine (PostgreSQL).

Migrations run here, on every open, under a lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an
advisory lock) so that two servers starting against one new database do not both create tables.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from .errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
# An arbitrary constant: the PostgreSQL advisory lock taken while migrating.
_PG_MIGRATION_LOCK = 0x11C0_CA4E
# How long a connection waits for another one's lock (SQLite's busy_timeout, and the retry below).
_SQLITE_BUSY_S = 30.0


def is_url(target: str) -> bool:
    return "://" in target


def describe(target: str) -> str:
    """The store's name for messages, with any password hidden."""
    if is_url(target):
        try:
            return make_url(target).render_as_string(hide_password=True)
        except (sa.exc.ArgumentError, ValueError):
            return "<malformed URL>"
    return target


def _sqlite_engine(path: Path, create: bool) -> Engine:
    if not create and not path.exists():
        raise StoreError(
            f"no store at {path} (create one with `liquidcare store init --store {path}`)"
        )
    if not path.parent.exists():
        raise StoreError(f"cannot create the store {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise StoreError(f"the store {path} is a folder, not a database file")
    if not path.exists():
        # Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the mode of
        # the database file, so none of the three is ever readable by other local users.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    # check_same_thread off: the server hands connections from the pool to worker threads.
    engine = sa.create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start (pysqlite's own
        # implicit BEGIN would be DEFERRED, and two deferred writers deadlock on the upgrade).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(_SQLITE_BUSY_S * 1000)}")
        enter_wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed data
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock at BEGIN, so they queue on busy_timeout instead of failing.
        immediate = conn.get_execution_options().get("liquidcare_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def enter_wal(cur: sqlite3.Cursor | sqlite3.Connection) -> None:
    """Switches the database to WAL, waiting out another connection that is doing the same.

    On a new database the switch is a write in rollback-journal mode, and SQLite answers a second
    connection that tries it meanwhile with "database is locked" at once, without its busy
    handler (waiting could deadlock two rollback-mode writers). Several servers opening one new
    store together meet exactly that, so the switch is retried here until the first one is done.
    The serve journal (`serve.journal.PartialJournal`) switches its own SQLite file the same way.
    """
    deadline = time.monotonic() + _SQLITE_BUSY_S
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            busy = "locked" in str(err) or "busy" in str(err)
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def make_engine(target: str | os.PathLike[str], create: bool = True) -> Engine:
    target = os.fspath(target)
    if not target:
        raise StoreError("no store given: pass a path (SQLite) or a postgresql+psycopg:// URL")
    if not is_url(target):
        return _sqlite_engine(Path(target).expanduser(), create)
    try:
        url = make_url(target)
    except (sa.exc.ArgumentError, ValueError) as err:
        raise StoreError(f"not a database URL: {describe(target)} ({err})") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(Path(url.database or ""), create)
    if url.get_backend_name() != "postgresql":
        raise StoreError(
            f"unsupported database {url.drivername!r}: use a file path (SQLite) or "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
        )
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except ImportError as err:
        raise StoreError(f"no PostgreSQL driver: pip install 'psycopg[binary]' ({err})") from None
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as err:
        first = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise StoreError(f"cannot connect to {describe(target)}: {first}") from None
    return engine


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> str:
    """Brings the schema to the newest revision; returns it."""
    from alembic import command

    head = head_revision()
    if current_revision(engine) == head:
        return head
    with engine.execution_options(liquidcare_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        command.upgrade(_alembic_config(conn), "head")
    return head
