"""Store fixtures for both engines: a throwaway PostgreSQL 15 cluster on loopback, once per session.

`store_url` is parametrised over ``sqlite`` (a file in tmp_path) and ``postgresql`` (a fresh
database on the session's cluster); a test that takes it runs on both. Where no PostgreSQL server
binary exists the ``postgresql`` cases skip and say why, except under ``CI=true``, where a missing
PostgreSQL fails the run: CI must test both engines.

PostgreSQL refuses to run as root, so when the tests run as root the cluster is created and
started as the ``postgres`` user (runuser), in a temporary folder that user owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def find_pg_bin() -> Path | None:
    """The newest PostgreSQL server `bin` folder (Debian layout first, then PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="liquidcare-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._names = itertools.count()
        self._template: str | None = None

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                  "postgres", "--no-sync", "-E", "UTF8")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, migrated: bool = True) -> str:
        """A fresh database; returns its URL. With `migrated` it is a copy of a template that
        already holds the store's empty schema (copying is faster than migrating every time)."""

        if migrated and self._template is None:
            from liquidcare.feedback import open_store

            self._template = self._create("liquidcare_template", None)
            open_store(self.url(self._template)).close()  # migrate, then let go of it
        name = f"t{os.getpid()}_{next(self._names)}"
        return self.url(self._create(name, self._template if migrated else None))

    def _create(self, name: str, template: str | None) -> str:
        import psycopg

        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}" STRATEGY FILE_COPY'
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(sql)
        return name


def require_postgres() -> Path:
    """The server's bin folder; else skips the test saying why (fails it under CI=true)."""
    reason = None
    bin_dir = find_pg_bin()
    if bin_dir is None:
        reason = "no PostgreSQL server binary (initdb) found; apt-get install postgresql"
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            reason = "the psycopg driver is not installed (pip install 'psycopg[binary]')"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run on CI: {reason}")
        pytest.skip(f"PostgreSQL case skipped: {reason}")
    assert bin_dir is not None
    return bin_dir


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PgCluster]:
    """A running PostgreSQL cluster for this test session (skips, or fails under CI=true)."""
    cluster = PgCluster(require_postgres())
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A new store with no data: a SQLite file path (not created yet), or the URL of a fresh
    PostgreSQL database holding the empty schema. Tests of the first migration on PostgreSQL use
    `postgres_cluster.new_database(migrated=False)`."""
    if request.param == "sqlite":
        return str(tmp_path / "care.db")
    return request.getfixturevalue("postgres_cluster").new_database()
