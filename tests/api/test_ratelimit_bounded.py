"""The sign-in limiter's memory stays bounded however many client addresses it sees (issue
24, item 6): measured from outside with tracemalloc (live Python allocations), not by asking
the limiter how many keys it holds."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from tweeling.api.ratelimit import SignInLimits, SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def _limits(clock: Clock) -> SignInLimits:
    """The app's two windows with their production sizes, on a clock the test moves."""
    made = SignInLimits.from_settings()
    return SignInLimits(
        SlidingWindow(made.per_address.limit, made.per_address.seconds, clock=clock),
        SlidingWindow(
            made.per_account.limit,
            made.per_account.seconds,
            subject=made.per_account.subject,
            clock=clock,
        ),
    )


def _live() -> int:
    return tracemalloc.get_traced_memory()[0]


def test_addresses_seen_over_time_do_not_add_up(traced: None) -> None:
    """100 000 addresses (and accounts), one every 100 ms for almost three hours: what is
    kept after 100 000 is no more than after the first 20 000 (by then both windows, a
    minute and a quarter of an hour, are full); the windows forget the rest."""
    clock = Clock()
    limits = _limits(clock)
    base = _live()
    after: dict[int, int] = {}
    for i in range(1, 100_001):
        limits.hit(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", f"user{i}@example.nl")
        clock.now += 0.1
        if i in (20_000, 100_000):
            after[i] = _live() - base
    assert after[100_000] <= after[20_000] * 1.1


def test_addresses_at_one_moment_are_capped(traced: None) -> None:
    """250 000 different addresses within one window (a botnet): memory after them is what
    the cap of 100 000 keys holds, not two and a half times that."""
    clock = Clock()
    limits = _limits(clock)
    base = _live()
    after: dict[int, int] = {}
    for i in range(1, 250_001):
        limits.hit(f"2001:db8::{i:x}", f"p{i}@example.nl")
        if i in (100_000, 250_000):
            after[i] = _live() - base
    assert after[250_000] <= after[100_000] * 1.1
