"""The journal of streamed replies in flight: what each client has been shown, for crashes.

The store receives a reply once it is complete (the worker stores it before telling the client
it is done). A streamed reply is shown piece by piece before that, so a server killed mid-stream
would lose text a person has already read. The journal closes that gap: before a piece is sent,
the text shown so far is written here (one small SQLite file beside the store, WAL, 0600); when
the worker stores the whole reply the entry is dropped. On the next start, `recover` stores each
entry left by a process that is gone as the conversation's reply, with its model version marked
`+partial`, so the conversation shows what the person saw and a reader knows it was cut.

The store has no "partial message" of its own (a note for the store: `add_message(...,
partial=True)` plus an update would let this live there); the journal only calls the store's
public `add_message` and `get_conversation`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

from liquidcare.feedback.engine import enter_wal  # noqa: E402

# appended to the model_version of a reply cut by a crash; the store leaves such replies out of
# training sets
from liquidcare.feedback.training import PARTIAL_SUFFIX  # noqa: E402

_SCHEMA = """
CREATE TABLE IF NOT EXISTS partial (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL,
    user_id INTEGER,
    after_message_id INTEGER,
    version TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    storing INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


class PartialJournal:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # created owner-only before SQLite opens it; its -wal and -shm files copy the mode
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30,
                                   isolation_level=None)
        # two servers starting on one new journal: the second's switch to WAL would fail at once
        enter_wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")  # survives a killed process (not power)
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    # -- one reply ---------------------------------------------------------------------------
    def begin(self, conversation_id: int, user_id: int | None, after_message_id: int | None,
              version: str) -> int:
        cur = self._run("INSERT INTO partial (pid, conversation_id, user_id, after_message_id,"
                        " version, updated) VALUES (?, ?, ?, ?, ?, ?)",
                        (os.getpid(), conversation_id, user_id, after_message_id, version,
                         time.time()))
        return int(cur.lastrowid)

    def update(self, entry: int, text: str) -> None:
        """What the client has been shown so far (a no-op once the reply is stored)."""
        self._run("UPDATE partial SET text = ?, updated = ? WHERE id = ? AND storing = 0",
                  (text, time.time(), entry))

    def storing(self, entry: int) -> None:
        """The whole reply is about to be stored: a crash from here on may have stored it."""
        self._run("UPDATE partial SET storing = 1 WHERE id = ?", (entry,))

    def discard(self, entry: int) -> None:
        self._run("DELETE FROM partial WHERE id = ?", (entry,))

    def text(self, entry: int) -> str | None:
        row = self._run("SELECT text FROM partial WHERE id = ?", (entry,)).fetchone()
        return None if row is None else row[0]

    def store_partial(self, entry: int, store: Any) -> Any:
        """Store what the client saw of a reply that failed mid-stream; the message id."""
        row = self._claim(entry)
        return None if row is None else self._store(row, store, check=False)

    # -- after a crash -----------------------------------------------------------------------
    def recover(self, store: Any) -> int:
        """Store the replies of processes that are gone; how many were stored."""
        rows = self._run("SELECT id, pid FROM partial").fetchall()
        stored = 0
        for entry, pid in rows:
            # our own pid here is a previous incarnation (a restarted container is pid 1 again):
            # this process has not begun any reply yet
            if pid != os.getpid() and _alive(pid):
                continue
            row = self._claim(entry)
            if row is not None and self._store(row, store, check=bool(row[6])) is not None:
                stored += 1
        if stored:
            log.warning("stored %d streamed replies cut by a crash (marked %s)", stored,
                        PARTIAL_SUFFIX)
        return stored

    def _claim(self, entry: int) -> tuple[Any, ...] | None:
        """Take an entry out atomically: of two processes recovering, one stores it."""
        return self._run("DELETE FROM partial WHERE id = ? RETURNING id, conversation_id, "
                         "user_id, after_message_id, version, text, storing", (entry,)
                         ).fetchone()

    def _store(self, row: tuple[Any, ...], store: Any, check: bool) -> Any:
        _, conv_id, user_id, after_id, version, text, _ = row
        if not text:
            return None
        try:
            if check:  # the crash came while the whole reply was being stored: was it?
                conv = store.get_conversation(conv_id, by=user_id)
                if any(m.role == "assistant" and (after_id is None or m.id > after_id)
                       for m in conv.messages):
                    return None
            msg = store.add_message(conv_id, role="assistant", content=text, by=user_id,
                                    model_version=f"{version}{PARTIAL_SUFFIX}")
        except Exception as err:  # noqa: BLE001 - an erased conversation or user: nothing to keep
            log.warning("partial reply for conversation %s not stored: %s", conv_id, err)
            return None
        return getattr(msg, "id", None)
