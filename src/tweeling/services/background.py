"""What a server runs beside its requests, as one list the app starts and stops.

Each item is a ``BackgroundService``: ``start()`` when the app starts, ``stop()`` when it
stops. The job runner and the federation harvester are services of their own; a step that
runs only once, at start (removing a killed server's upload spool files) or at stop (writing
the last second's usage rows), is an ``AtStart`` or ``AtStop``. ``running`` starts them in
list order and stops them in the reverse order, so a service may rely on those before it
(the job runner on the executor that ``AtStop`` closes after it). Adding one is appending it
to the list in ``api.app``'s lifespan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class BackgroundService(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class AtStart:
    """A step run once when the app starts."""

    action: Callable[[], object]

    def start(self) -> None:
        self.action()

    def stop(self) -> None:
        pass


@dataclass(frozen=True)
class AtStop:
    """A step run once when the app stops."""

    action: Callable[[], object]

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.action()


@contextmanager
def running(services: Sequence[BackgroundService]) -> Iterator[None]:
    """Start ``services`` in order; on leaving, stop those that started, in reverse order.

    A service that fails to start stops the ones before it and the error goes on. Every
    started service is asked to stop even when an earlier stop failed; the first such
    failure is raised once all have been asked.
    """
    started: list[BackgroundService] = []
    try:
        for service in services:
            service.start()
            started.append(service)
        yield
    finally:
        failure: Exception | None = None
        for service in reversed(started):
            try:
                service.stop()
            except Exception as exc:  # the others must still stop
                log.exception("stopping %r failed", service)
                failure = failure or exc
        if failure is not None:
            raise failure
