"""3D Tiles of a twin's scenario, through the policy point, with per-process caches.

Building a scenario's quadtree reads every object's box and its tileset JSON takes a box
per tile through PROJ (about 10 s together for a million buildings), and a leaf's GLB
triangulates a few hundred objects, so all three are cached. Cache
keys carry the twin's edit counter: any import or edit in the twin makes new keys, and the
old entries age out. Each request still passes the policy point and counts as a use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind
from tweeling.errors import NotFound
from tweeling.services.twins import authorised_twin
from tweeling.services.usage import recorder
from tweeling.storage.db import Database
from tweeling.twin.ingest import load_templates
from tweeling.twin.tiles import Quadtree, build, leaf_content, tileset
from tweeling.twin.twins import Scenario, Twin, get_scenario
from tweeling.twin.views import view_of

K = TypeVar("K")
V = TypeVar("V")


class _Cache(Generic[K, V]):
    """A small thread-safe LRU cache bounded by the summed ``weight`` of its values."""

    def __init__(self, capacity: int, weight: Callable[[V], int]) -> None:
        self.capacity = capacity
        self.weight = weight
        self.items: OrderedDict[K, V] = OrderedDict()
        self.total = 0
        self.lock = threading.Lock()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()  # outside the lock: two threads may build the same value once each
        with self.lock:
            if key not in self.items:
                self.items[key] = value
                self.total += self.weight(value)
                while self.total > self.capacity and len(self.items) > 1:
                    _, dropped = self.items.popitem(last=False)
                    self.total -= self.weight(dropped)
        return value


@dataclass(frozen=True)
class _Scenario:
    twin: Twin
    scenario: Scenario

    @property
    def key(self) -> tuple[int, int, int]:
        """Twin, scenario and the twin's edit counter: new whenever the twin's data changes."""
        return (self.twin.id, self.scenario.id, self.twin.last_seq)

    @property
    def tag(self) -> str:
        """An HTTP entity tag stem."""
        return ".".join(map(str, self.key))


@dataclass(frozen=True)
class _Tiled:
    tree: Quadtree
    tileset: bytes  # its JSON, built once with the tree (a box per tile through PROJ)


_trees: _Cache[tuple[str, int, int, int], _Tiled | None] = _Cache(
    4, lambda tiled: 1
)  # a tree of a million objects holds about 10 MB
_contents: _Cache[tuple[str, int, int, int, str], bytes] = _Cache(128 * 2**20, len)


def _scenario(db: Database, twin: Twin, scenario: str) -> _Scenario:
    with db.read(snapshot=False) as conn:
        return _Scenario(twin, get_scenario(conn, twin, scenario))


def _tiled(db: Database, s: _Scenario) -> _Tiled:
    def make() -> _Tiled | None:
        with db.read() as conn:
            tree = build(conn, view_of(conn, s.scenario), s.twin.crs)
        if tree is None:
            return None
        doc = tileset(tree, twin=s.twin.name, scenario=s.scenario.name)
        return _Tiled(tree, orjson.dumps(doc))

    tiled = _trees.get_or_make((db.url, *s.key), make)
    if tiled is None:
        raise NotFound(
            f"scenario {s.scenario.name!r} of twin {s.twin.name!r} has no objects with geometry"
        )
    return tiled


def tileset_json(
    db: Database, principal: Principal, twin_name: str, scenario: str, purpose: str | None
) -> tuple[bytes, str]:
    """The scenario's tileset (JSON) and its entity tag; content URIs are relative to it."""
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    return scenario_tileset(db, principal, twin, scenario, purpose)


def scenario_tileset(
    db: Database, principal: Principal, twin: Twin, scenario: str, purpose: str | None
) -> tuple[bytes, str]:
    """The tileset of a scenario the caller was authorised to read (by the twin, or by a
    published plan that opens this one scenario)."""
    s = _scenario(db, twin, scenario)
    doc = _tiled(db, s).tileset
    recorder(db).record(principal, twin.id, purpose, "3dtiles:tileset")
    return doc, s.tag


def tile_content(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario: str,
    key: str,
    purpose: str | None,
) -> tuple[bytes, str]:
    """The GLB of one leaf tile (``level/x/y``) of the scenario's tileset, and its tag."""
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    return scenario_tile(db, principal, twin, scenario, key, purpose)


def scenario_tile(
    db: Database, principal: Principal, twin: Twin, scenario: str, key: str, purpose: str | None
) -> tuple[bytes, str]:
    """One tile of a scenario the caller was authorised to read (see ``scenario_tileset``)."""
    s = _scenario(db, twin, scenario)
    tree = _tiled(db, s).tree
    node = tree.leaves.get(key)
    if node is None:
        raise NotFound(f"the tileset of {twin.name}/{s.scenario.name} has no tile {key}")

    def make() -> bytes:
        with db.read() as conn:
            return leaf_content(conn, tree, node, load_templates(conn, twin))

    data = _contents.get_or_make((db.url, *s.key, key), make)
    recorder(db).record(principal, twin.id, purpose, "3dtiles:tile")
    return data, f"{s.tag}.{key.replace('/', '-')}"
