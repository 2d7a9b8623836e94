"""Per-key rate limits: a token bucket for each API key (429 with Retry-After when empty).

One care centre's script gone wrong (or a stolen key) must not take the model from everyone
else. Each key may make `per_minute` requests a minute on average, with bursts of `burst`; a
request over that gets 429 and a `Retry-After` saying when the next one will be taken. Failed
authentications are limited the same way per client address, which slows guessing keys.
Buckets live in the process (bounded: the least recently used go first).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from liquidcare.errors import UserError


class RateLimitedError(UserError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, per_minute: float = 120.0, burst: int | None = None,
                 max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive (use no limiter to switch it off)")
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = float(burst if burst is not None else max(1, int(per_minute // 2)))
        self.max_keys, self.clock = max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when the request may go ahead, else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait

    def check(self, key: str, what: str = "this API key") -> None:
        wait = self.take(key)
        if wait > 0:
            raise RateLimitedError(f"too many requests for {what}; retry in {math.ceil(wait)} s",
                                   retry_after=max(1, math.ceil(wait)))
