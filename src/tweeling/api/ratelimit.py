"""A per-client sliding-window limit on sign-in attempts, next to the per-account lockout.

The lockout stops guessing one person's password; this stops one address from trying many
accounts. It is kept in memory per process: a first line, not a distributed guarantee.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from tweeling.errors import TooManyAttempts


class SlidingWindow:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one attempt by ``key``; raise when it is over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = int(hits[0] + self.seconds - now) + 1
                raise TooManyAttempts(f"too many sign-in attempts from your address; wait {wait} s")
            hits.append(now)
