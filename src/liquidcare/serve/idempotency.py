"""Retries that cannot store twice: the `Idempotency-Key` header.

A client that lost a reply (a timeout, a dropped connection, a 503 it retried) sends the same
request again with the same `Idempotency-Key`. The first request with a key runs; its result is
kept, for that user and key, for `ttl_s` seconds; a repeat gets that result again (header
`Idempotent-Replayed: true`) and stores nothing. A repeat while the first is still running gets
409 with `Retry-After`; the same key with a different body is a 422 (a client bug: keys are for
retries of one request). A request that fails (any 4xx or 5xx) keeps nothing, so its retry runs
afresh (and since refused requests write nothing, that stores nothing twice either).

The map lives in the server process (the store has no place for it): bounded (`max_entries`,
the oldest finished entries go first) and expiring. With several server processes behind a load
balancer, route a client to one process (sticky sessions) for retries to be idempotent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from liquidcare.errors import UserError

KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # printable ASCII, as Stripe's and the IETF draft's keys


class IdempotencyInFlightError(UserError):
    """The first request with this key is still running."""

    status = 409
    retry_after = 1


class IdempotencyMismatchError(UserError):
    """The key was used before for a different request."""

    status = 422


@dataclass
class _Entry:
    fingerprint: str
    created: float
    result: Any = None
    done: bool = False


def fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


class IdempotencyCache:
    def __init__(self, max_entries: int = 10_000, ttl_s: float = 24 * 3600,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries, self.ttl_s, self.clock = max_entries, ttl_s, clock
        self._entries: OrderedDict[tuple[Any, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, user_id: Any, key: str, print_: str) -> Any:
        """None: go ahead (then `finish` or `abort`); else the stored result of the first."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            entry = self._entries.get((user_id, key))
            if entry is not None:
                if entry.fingerprint != print_:
                    raise IdempotencyMismatchError(
                        "this Idempotency-Key was used for a different request; use a new key "
                        "for each new request")
                if not entry.done:
                    raise IdempotencyInFlightError(
                        "a request with this Idempotency-Key is still being answered; retry "
                        "in a moment")
                return entry.result
            self._entries[(user_id, key)] = _Entry(print_, now)
            self._bound()
            return None

    def finish(self, user_id: Any, key: str, result: Any) -> None:
        with self._lock:
            entry = self._entries.get((user_id, key))
            if entry is not None:
                entry.result, entry.done = result, True

    def abort(self, user_id: Any, key: str) -> None:
        with self._lock:
            entry = self._entries.get((user_id, key))
            if entry is not None and not entry.done:
                del self._entries[(user_id, key)]

    def _expire(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.created < self.ttl_s:
                break
            del self._entries[key]

    def _bound(self) -> None:
        if len(self._entries) <= self.max_entries:
            return
        for key in [k for k, e in self._entries.items() if e.done]:
            del self._entries[key]
            if len(self._entries) <= self.max_entries:
                return
        while len(self._entries) > self.max_entries:  # all in flight: the oldest go
            self._entries.popitem(last=False)
