"""Switching a new SQLite file to WAL while another connection does the same (the store's and
the serve journal's files, when several servers start together)."""

from __future__ import annotations

import sqlite3

import pytest

from liquidcare.feedback import engine
from liquidcare.serve import journal


class _Contended:
    """A connection whose WAL switch meets another connection's switch `busy` times (SQLite then
    answers "database is locked" at once, without its busy handler)."""

    def __init__(self, busy: int, error: str = "database is locked") -> None:
        self.busy, self.error, self.calls = busy, error, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode=WAL"
        self.calls += 1
        if self.calls <= self.busy:
            raise sqlite3.OperationalError(self.error)


def test_the_switch_is_retried_until_the_other_connection_is_done():
    db = _Contended(busy=3)
    engine.enter_wal(db)
    assert db.calls == 4


def test_another_error_is_not_retried():
    db = _Contended(busy=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        engine.enter_wal(db)
    assert db.calls == 1


def test_the_serve_journal_switches_through_the_retrying_helper(tmp_path, monkeypatch):
    seen: list[object] = []
    real = journal.enter_wal
    monkeypatch.setattr(journal, "enter_wal", lambda db: (seen.append(db), real(db)))
    j = journal.PartialJournal(tmp_path / "partial.db")
    try:
        assert len(seen) == 1
        assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        j.close()
