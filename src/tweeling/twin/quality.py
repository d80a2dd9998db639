"""Dataset profiles: counts per type and, per layer, how complete each attribute is."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from tweeling.twin.model import CityObject


class Profile:
    """Accumulates counts while a dataset streams by; memory grows with attribute names only."""

    def __init__(self) -> None:
        self.types: Counter[str] = Counter()
        self.layers: Counter[str] = Counter()
        self.filled: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.with_geometry: Counter[str] = Counter()

    def add(self, objects: Iterable[CityObject]) -> None:
        by_layer: defaultdict[str, list[CityObject]] = defaultdict(list)
        for obj in objects:
            by_layer[obj.layer].append(obj)
        for layer, members in by_layer.items():
            self.types.update(o.type for o in members)
            self.layers[layer] += len(members)
            self.with_geometry[layer] += sum(1 for o in members if o.geometry)
            self.filled[layer].update(
                key
                for o in members
                for key, value in o.attributes.items()
                if value is not None and value != ""
            )

    @property
    def total(self) -> int:
        return sum(self.types.values())

    def counts(self) -> dict[str, int]:
        return dict(sorted(self.types.items()))

    def quality(self) -> dict[str, Any]:
        """Per layer: object count, share with geometry, and per attribute the share filled."""
        out: dict[str, Any] = {}
        for layer, n in sorted(self.layers.items()):
            out[layer] = {
                "objects": n,
                "geometry": round(self.with_geometry[layer] / n, 4),
                "attributes": {
                    key: round(count / n, 4) for key, count in sorted(self.filled[layer].items())
                },
            }
        return out

    def merge(self, other: Profile) -> None:
        """Fold in a profile counted elsewhere (a worker process)."""
        self.types.update(other.types)
        self.layers.update(other.layers)
        self.with_geometry.update(other.with_geometry)
        for layer, counts in other.filled.items():
            self.filled[layer].update(counts)
