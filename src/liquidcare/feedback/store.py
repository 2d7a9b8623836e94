"""The feedback store: users and keys, digital twins, conversations, ratings, training records.

Authorisation lives here, not in the server: every method that touches a person's data takes
`by=` (the acting user) and refuses what that user may not see, so the server, the terminal chat
and any future front end cannot forget a check. `by=None` is the operator at the console (the
`liquidcare store ...` commands): whoever can open the database file or URL can read it anyway.

Who sees what:
- a user reads and writes only their own conversations (an admin may read any, audited);
- a twin is visible to the users linked to it (and admins); linked users may edit it;
- a twin's timeline is visible to its linked carers and clinicians and to admins only;
- every read of a twin, timeline or conversation by anyone but the person is audited.

`Store` is a facade: each part lives in a module of its own (see base.py for the list), and this
module only puts them together and opens the database.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from .audit import AuditPart
from .backup import BackupPart
from .consent import ConsentPart
from .conversations import ConversationsPart
from .engine import describe, make_engine, migrate
from .errors import StoreError
from .rights import RightsPart
from .training import TrainingPart
from .twin import FIELDS
from .twins import TwinsPart
from .users import UsersPart


class Store(
    UsersPart, TwinsPart, ConversationsPart, ConsentPart, TrainingPart, AuditPart, RightsPart,
    BackupPart,
):
    """One feedback store. Open it with `open_store`; it is safe to share between threads."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(target: str | os.PathLike[str] = "care.db", create: bool = True) -> Store:
    """Opens (and, with `create`, creates) a store and migrates it to the newest schema.

    `target` is a file path (SQLite, WAL mode) or a database URL such as
    ``postgresql+psycopg://user:password@127.0.0.1:5432/care``.
    """
    target = os.fspath(target)
    engine = make_engine(target, create=create)
    try:
        migrate(engine)
    except sa.exc.DatabaseError as err:
        engine.dispose()
        raise StoreError(
            f"{describe(target)} is not a usable liquidcare store: {err.orig}"
        ) from None
    return Store(engine, target)


__all__ = ["FIELDS", "Store", "open_store"]
