"""The pipes an app's worker speaks through, read by the platform within limits.

Each pipe has a thread that drains it to its end, so a worker never blocks on a full pipe
and a flood costs the platform no more than the limit: events are JSON lines (at most
``MAX_EVENT_LINE`` bytes each, ``MAX_EVENTS_BYTES`` in all, progress passed on at most
``MAX_PROGRESS_PER_S`` times a second); outputs and the log are copied to a file up to a cap,
past which the rest is read and dropped (and, for outputs, the run is stopped).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ProgressCallback = Callable[[float, str], None]

MAX_EVENT_LINE = 4096  # bytes; a longer line is cut and counted as garbage
MAX_EVENTS_BYTES = 1024 * 1024
MAX_PROGRESS_PER_S = 10
MAX_LOG_BYTES = 1024 * 1024


class Events:
    """Reads the worker's event lines: bounded in size, progress passed on at a bounded rate,
    refusals kept (the first hundred) and counted."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.on_progress = on_progress
        self.violations: list[dict[str, Any]] = []
        self.violation_count = 0
        self.end: dict[str, Any] = {}
        self.dropped = 0
        self._received = 0
        self._window = deque[float]()

    def read(self, stream: io.BufferedReader) -> None:
        for raw in iter(lambda: stream.readline(MAX_EVENT_LINE), b""):
            self._received += len(raw)
            if self._received > MAX_EVENTS_BYTES or not raw.endswith(b"\n"):
                self.dropped += 1
                continue  # keep draining, so the worker never blocks on a full pipe
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self.dropped += 1
                continue
            if isinstance(event, dict):
                self._take(event)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "violation":
            self.violation_count += 1
            if len(self.violations) < 100:
                self.violations.append(
                    {
                        "kind": str(event.get("what", "?"))[:40],
                        "detail": str(event.get("detail"))[:500],
                    }
                )
        elif kind == "end" and not self.end:
            self.end = event
        elif kind == "progress" and self.on_progress is not None:
            now = time.monotonic()
            while self._window and now - self._window[0] > 1.0:
                self._window.popleft()
            if len(self._window) >= MAX_PROGRESS_PER_S:
                return
            self._window.append(now)
            fraction = event.get("fraction")
            if isinstance(fraction, (int, float)) and math.isfinite(fraction):
                with contextlib.suppress(Exception):  # a slow database must not stop draining
                    self.on_progress(
                        min(1.0, max(0.0, float(fraction))), str(event.get("message", ""))[:200]
                    )


class Capped:
    """Copies a pipe to a file up to a cap; past it, sets ``over`` and calls ``on_over``."""

    def __init__(self, path: Path, cap: int, on_over: Callable[[], None] | None = None) -> None:
        self.path, self.cap, self.on_over = path, cap, on_over
        self.size = 0
        self.over = False

    def read(self, stream: io.BufferedReader) -> None:
        with open(self.path, "wb") as out:
            for chunk in iter(lambda: stream.read1(1 << 16), b""):
                if self.over:
                    continue  # drain and drop
                if self.size + len(chunk) > self.cap:
                    out.write(chunk[: self.cap - self.size])
                    self.size = self.cap
                    self.over = True
                    if self.on_over is not None:
                        self.on_over()
                    continue
                out.write(chunk)
                self.size += len(chunk)


def reader(target: Callable[[io.BufferedReader], None], fd: int) -> threading.Thread:
    stream = os.fdopen(fd, "rb")

    def run() -> None:
        with stream:
            target(stream)

    worker = threading.Thread(target=run, daemon=True, name="tweeling-run-pipe")
    worker.start()
    return worker
