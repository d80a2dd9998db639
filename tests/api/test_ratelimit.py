"""The sign-in windows forget what left them and never hold more than their cap of keys."""

from __future__ import annotations

import pytest

from tweeling.api.ratelimit import SlidingWindow
from tweeling.errors import TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_limits_and_then_forgives() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60.0, subject="for this account", clock=clock)
    for _ in range(3):
        window.hit("anna")
    with pytest.raises(TooManyAttempts, match="for this account; wait 60 s"):
        window.hit("anna")
    window.hit("piet")  # others are not affected
    clock.now += 60.0
    window.hit("anna")


def test_keys_that_left_the_window_are_dropped() -> None:
    clock = Clock()
    window = SlidingWindow(5, 60.0, clock=clock)
    for i in range(10_000):
        window.hit(f"203.0.113.{i}")
    assert len(window) == 10_000
    clock.now += 61.0
    window.hit("198.51.100.1")
    assert len(window) == 1


def test_the_number_of_keys_is_capped() -> None:
    clock = Clock()
    window = SlidingWindow(5, 60.0, max_keys=100, clock=clock)
    for i in range(1000):
        window.hit(f"guess{i}@example.nl")
        clock.now += 0.001
    assert len(window) == 100
