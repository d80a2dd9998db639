"""Where the domain layer's timestamps come from: an injected ``Clock``.

Record times, expiries, leases, audit times and sessions are read from a ``Clock`` instead of
the system time, so a test (or a determinism check) can fix or advance time and check the rows
written. A ``storage.db.Database`` holds one (the system clock unless given another); code that
has a connection from it asks ``storage.db.clock_of(conn)``. Monotonic timers that measure a
duration (``time.monotonic``, ``perf_counter``) are not clocks in this sense and stay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """The current time, timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The system's time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: fixed at ``at`` until moved (tests, replays)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a FixedClock needs a timezone-aware time")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


SYSTEM_CLOCK: Clock = SystemClock()
