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
        for obj in objects:
            layer = obj.layer
            self.types[obj.type] += 1
            self.layers[layer] += 1
            if obj.geometry:
                self.with_geometry[layer] += 1
            filled = self.filled[layer]
            for key, value in obj.attributes.items():
                if value is not None and value != "":
                    filled[key] += 1

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
