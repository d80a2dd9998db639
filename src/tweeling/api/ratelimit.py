"""Sliding-window limits on sign-in attempts, per client address and per account, next to
the per-account lockout.

The lockout stops guessing one person's password in a row; the per-address limit stops one
address from trying many accounts; the per-account limit holds when an attacker spreads the
guesses for one account over many addresses. Windows are kept in memory per process (a
first line, not a distributed guarantee), and their memory is bounded: a key whose last
attempt left the window is dropped as soon as any attempt comes in, and beyond ``max_keys``
the least recently seen key goes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from tweeling.errors import TooManyAttempts
from tweeling.settings import AccessSettings


class SlidingWindow:
    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        subject: str = "from your address",
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.subject = subject
        self.max_keys = max_keys
        self._clock = clock
        # Least recently hit first, so expired keys are always at the front.
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, key: str) -> None:
        """Count one attempt by ``key``; raise when it is over the limit."""
        now = self._clock()
        horizon = now - self.seconds
        with self._lock:
            self._expire(horizon)
            hits = self._hits.pop(key, None) or deque()
            self._hits[key] = hits  # now the most recently seen
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = max(1, math.ceil(hits[0] + self.seconds - now))
                raise TooManyAttempts(f"too many sign-in attempts {self.subject}; wait {wait} s")
            hits.append(now)

    def _expire(self, horizon: float) -> None:
        while self._hits:
            key, hits = next(iter(self._hits.items()))
            if len(self._hits) < self.max_keys and hits and hits[-1] > horizon:
                return
            del self._hits[key]


@dataclass
class SignInLimits:
    """The per-address and the per-account window of one API process."""

    per_address: SlidingWindow
    per_account: SlidingWindow

    @classmethod
    def from_settings(cls, settings: AccessSettings | None = None) -> SignInLimits:
        settings = settings or AccessSettings()
        return cls(
            SlidingWindow(settings.sign_in_attempts_per_address, 60.0),
            SlidingWindow(
                settings.sign_in_attempts_per_account, 15 * 60.0, subject="for this account"
            ),
        )

    def hit(self, address: str, account: str) -> None:
        self.per_address.hit(address)
        self.per_account.hit(account.strip().lower())


_create_lock = threading.Lock()


def sign_in_limits(state: object) -> SignInLimits:
    """The app's limits (kept on its ``state``), made from the settings on first use."""
    limits: SignInLimits | None = getattr(state, "sign_in_limits", None)
    if limits is None:
        with _create_lock:
            limits = getattr(state, "sign_in_limits", None)
            if limits is None:
                limits = SignInLimits.from_settings()
                setattr(state, "sign_in_limits", limits)  # noqa: B010 - Starlette's State
    return limits
