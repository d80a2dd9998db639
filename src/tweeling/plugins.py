"""Registries for what grows: one typed registry per extension point.

Each extension point (API parts, output renderers, executors, accreditation checks,
importers, and later payment providers and sensor validators) is a small ``Protocol``
declared beside the code that uses it, plus one ``Registry`` of that protocol. The
platform registers its own implementations in code; a third party adds one from its own
package through an entry point in the registry's group::

    [project.entry-points."tweeling.checks"]
    my-check = "my_package.checks:MyCheck"

The entry point names an object of the protocol, or a class or factory that takes no
arguments and returns one. Entry points are read once, on first use, so importing a
module never scans the installed distributions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from tweeling.errors import NotConfigured

log = logging.getLogger("tweeling.plugins")

T = TypeVar("T")


class Registry(Generic[T]):
    """Named implementations of one extension point: built-ins first, then entry points.

    ``accepts`` checks that a loaded object really is of the protocol (for a runtime-
    checkable ``Protocol`` pass ``lambda o: isinstance(o, TheProtocol)``); a plug-in that
    fails to load or is not of the protocol stops the start with a message that names it,
    rather than disappearing silently.
    """

    def __init__(self, group: str, what: str, accepts: Callable[[object], bool]) -> None:
        self.group = group
        self.what = what
        self._accepts = accepts
        self._items: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str, item: T, *, replace: bool = False) -> T:
        """Add ``item`` under ``name`` (a built-in, or a test's toy)."""
        if not self._accepts(item):
            raise NotConfigured(f"{self.what} {name!r} does not implement the {self.what} protocol")
        if name in self._items and not replace:
            raise NotConfigured(f"two {self.what}s are registered as {name!r}")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def load_entry_points(self) -> None:
        """Read the group's entry points (once; call again after ``reload``)."""
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._items:
                continue  # a built-in of the same name wins; a plug-in cannot replace it
            try:
                loaded = ep.load()
                item = loaded() if isinstance(loaded, type) or _is_factory(loaded) else loaded
            except Exception as exc:  # a broken plug-in is named, not swallowed
                raise NotConfigured(
                    f"{self.what} plug-in {ep.name!r} ({ep.value}, group {self.group}) "
                    f"failed to load: {exc}"
                ) from exc
            self.register(ep.name, item)
            log.info("loaded %s %r from %s", self.what, ep.name, ep.value)

    def reload(self) -> None:
        """Forget which entry points were read (tests that install a toy package)."""
        self._loaded = False

    def get(self, name: str) -> T:
        self.load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise NotConfigured(f"no {self.what} named {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        self.load_entry_points()
        return list(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self.load_entry_points()
        yield from list(self._items.items())

    def __contains__(self, name: object) -> bool:
        self.load_entry_points()
        return name in self._items


def _is_factory(loaded: object) -> bool:
    """A plain function named by an entry point is a factory taking no arguments."""
    return callable(loaded) and getattr(loaded, "__tweeling_factory__", False) is True


def factory(function: Callable[[], T]) -> Callable[[], T]:
    """Mark a function an entry point names as a factory to call, not the object itself."""
    function.__tweeling_factory__ = True  # type: ignore[attr-defined]
    return function
