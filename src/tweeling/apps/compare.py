"""Comparing two runs of one app — typically the current city and a plan — output by output.

Indicators compare as values; per-object outputs as the objects both runs have a number for
(how many rose, fell or stayed, the mean, least and greatest change, and the objects that
changed most), plus the objects only one run has (a building the plan adds or removes).
Text and boolean outputs count the objects whose value changed. Layers compare by size only:
their features have no shared identity across scenarios in general.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard

from tweeling.apps.runs import RunRecord
from tweeling.apps.sandbox import RunStatus
from tweeling.errors import InvalidInput

# Differences below this are rounding, not change.
TOLERANCE = 1e-9


@dataclass
class AttributeComparison:
    name: str
    unit: str | None
    both: int = 0
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    raised: int = 0
    lowered: int = 0
    changed: int = 0
    mean_change: float | None = None
    least_change: float | None = None
    greatest_change: float | None = None
    largest: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "objects_in_both": self.both,
            "only_in_a": self.only_a,
            "only_in_b": self.only_b,
            "changed": self.changed,
            "raised": self.raised,
            "lowered": self.lowered,
            "mean_change": self.mean_change,
            "least_change": self.least_change,
            "greatest_change": self.greatest_change,
            "largest_changes": self.largest,
        }


@dataclass
class Comparison:
    app_id: str
    a: RunRecord
    b: RunRecord
    indicators: list[dict[str, Any]]
    attributes: list[AttributeComparison]
    layers: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        def side(record: RunRecord) -> dict[str, Any]:
            return {
                "run": record.run_id,
                "twin": record.twin,
                "scenario": record.scenario,
                "version": record.version,
                "output_hash": record.output_hash,
            }

        return {
            "app": self.app_id,
            "a": side(self.a),
            "b": side(self.b),
            "indicators": self.indicators,
            "attributes": [a.as_json() for a in self.attributes],
            "layers": self.layers,
        }


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _attribute(
    name: str, unit: str | None, a: dict[str, Any], b: dict[str, Any], top: int
) -> AttributeComparison:
    result = AttributeComparison(name, unit)
    result.only_a = sorted(set(a) - set(b))
    result.only_b = sorted(set(b) - set(a))
    shared = sorted(set(a) & set(b))
    result.both = len(shared)
    deltas: list[tuple[float, str]] = []
    for oid in shared:
        old, new = a[oid], b[oid]
        if _number(old) and _number(new):
            delta = float(new) - float(old)
            deltas.append((delta, oid))
            if delta > TOLERANCE:
                result.raised += 1
            elif delta < -TOLERANCE:
                result.lowered += 1
        elif old != new:
            result.changed += 1
    result.changed += result.raised + result.lowered
    if deltas:
        values = [d for d, _ in deltas]
        result.mean_change = sum(values) / len(values)
        result.least_change = min(values)
        result.greatest_change = max(values)
        ranked = sorted(deltas, key=lambda item: (-abs(item[0]), item[1]))
        result.largest = [
            {"id": oid, "a": a[oid], "b": b[oid], "change": delta}
            for delta, oid in ranked[:top]
            if abs(delta) > TOLERANCE
        ]
    return result


def compare_runs(
    a: RunRecord, b: RunRecord, units: dict[str, str | None], top: int = 10
) -> Comparison:
    """Output by output, what changed from run ``a`` to run ``b`` of the same app."""
    if a.app_id != b.app_id:
        raise InvalidInput(
            f"runs {a.run_id} and {b.run_id} are of different apps ({a.app_id}, {b.app_id}); "
            "only runs of one app compare"
        )
    for record in (a, b):
        if record.status != RunStatus.successful:
            raise InvalidInput(f"run {record.run_id} did not succeed ({record.status})")
    out_a, out_b = a.outputs or {}, b.outputs or {}
    ind_a, ind_b = out_a.get("indicators") or {}, out_b.get("indicators") or {}
    indicators = []
    for name in sorted(set(ind_a) | set(ind_b)):
        old, new = ind_a.get(name), ind_b.get(name)
        change = None
        if _number(old) and _number(new):
            change = float(new) - float(old)
        indicators.append(
            {"name": name, "unit": units.get(name), "a": old, "b": new, "change": change}
        )
    attr_a, attr_b = out_a.get("attributes") or {}, out_b.get("attributes") or {}
    attributes = [
        _attribute(name, units.get(name), attr_a.get(name) or {}, attr_b.get(name) or {}, top)
        for name in sorted(set(attr_a) | set(attr_b))
    ]
    lay_a, lay_b = out_a.get("layers") or {}, out_b.get("layers") or {}
    layers = [
        {
            "name": name,
            "features_a": len((lay_a.get(name) or {}).get("features", [])),
            "features_b": len((lay_b.get(name) or {}).get("features", [])),
        }
        for name in sorted(set(lay_a) | set(lay_b))
    ]
    return Comparison(a.app_id, a, b, indicators, attributes, layers)
