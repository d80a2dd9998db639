"""The fit report, "in één oogopslag": will this app version run on this twin, and how well?

Each requirement the manifest declares is set against what the twin actually holds and what
this platform can give, and comes out green (met), amber (runs, with a cost to the results)
or red (will not run, or gives nonsense). Every line carries the measured value, the required
value, what it means for the results (the publisher's own words from the product page where
it has them) and how to fix it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy import Connection, text

from tweeling.apps.manifest import LayerInput, Manifest
from tweeling.storage.schema import Json
from tweeling.store.pages import ProductPage
from tweeling.twin.crs import horizontal
from tweeling.twin.twins import Twin
from tweeling.twin.views import View

Status = Literal["green", "amber", "red"]
# Below this share of the required completeness an input counts as missing rather than thin.
THIN = 0.5


@dataclass(frozen=True)
class Check:
    requirement: str
    status: Status
    measured: str
    required: str
    consequence: str = ""
    fix: str = ""


@dataclass
class FitReport:
    app_id: str
    version: str
    twin: str
    checks: list[Check] = field(default_factory=list)

    @property
    def verdict(self) -> Status:
        statuses = {c.status for c in self.checks}
        return "red" if "red" in statuses else "amber" if "amber" in statuses else "green"

    @property
    def red(self) -> list[Check]:
        return [c for c in self.checks if c.status == "red"]

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app_id,
            "version": self.version,
            "twin": self.twin,
            "verdict": self.verdict,
            "checks": [asdict(c) for c in self.checks],
        }


@dataclass
class LayerProfile:
    """What a twin holds in one layer, for the object types an app reads."""

    objects: int = 0
    types: Counter[str] = field(default_factory=Counter)
    filled: Counter[str] = field(default_factory=Counter)  # attribute → objects with a value
    complete: int = 0  # objects with every declared attribute
    with_geometry: int = 0
    lods: Counter[str] = field(default_factory=Counter)  # each object's highest LoD


def _lod_key(lod: str) -> tuple[float, ...]:
    return tuple(float(part) for part in str(lod).split(".") if part.replace(".", "").isdigit())


def layer_profile(conn: Connection, view: View, spec: LayerInput) -> LayerProfile:
    condition, params = view.visible("o")
    sql = (
        f"SELECT o.object_type, o.attributes, o.geometry FROM city_objects o WHERE {condition} "
        "AND NOT o.deleted AND o.layer = :layer"
    )
    params["layer"] = spec.layer
    profile = LayerProfile()
    wanted = set(spec.object_types)
    for otype, attrs, blob in conn.execute(text(sql).columns(attributes=Json), params):
        profile.types[otype] += 1
        if wanted and otype not in wanted:
            continue
        profile.objects += 1
        attributes = attrs or {}
        present = [a for a in spec.attributes if attributes.get(a) not in (None, "")]
        profile.filled.update(present)
        profile.complete += len(present) == len(spec.attributes)
        geometry = orjson.loads(bytes(blob)).get("geometry", []) if blob else []
        if geometry:
            profile.with_geometry += 1
            profile.lods[max((str(g.get("lod", "0")) for g in geometry), key=_lod_key)] += 1
    return profile


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%} ({part:,} of {whole:,})" if whole else "0 (no objects)"


def _layer_checks(spec: LayerInput, profile: LayerProfile, page: ProductPage) -> list[Check]:
    said = {need.layer: need for need in page.data}
    consequence = said[spec.layer].if_missing if spec.layer in said else ""
    severity: Status = "red" if spec.required else "amber"
    what = f"layer {spec.layer}" + (
        f" ({', '.join(spec.object_types)})" if spec.object_types else ""
    )
    if not profile.objects:
        found = ", ".join(f"{t} {n:,}" for t, n in profile.types.most_common()) or "nothing"
        return [
            Check(
                what,
                severity,
                f"none in the twin (the layer holds: {found})",
                "present" if spec.required else "present (optional)",
                consequence
                or ("the app cannot run without it" if spec.required else "poorer results"),
                f"import {what} (tweeling ingest … --twin …), or add them in a scenario",
            )
        ]
    checks = [Check(what, "green", f"{profile.objects:,} objects", "present")]
    if spec.attributes:
        share = profile.complete / profile.objects
        needed = spec.min_completeness
        status: Status = "green"
        if share < needed:
            status = "amber" if share >= THIN * needed or not spec.required else "red"
        missing = [a for a in spec.attributes if profile.filled[a] < profile.objects]
        checks.append(
            Check(
                f"{spec.layer}: {', '.join(spec.attributes)}",
                status,
                _share(profile.complete, profile.objects),
                f"at least {needed:.0%} complete" if needed else "read where present",
                ""
                if status == "green"
                else consequence or "objects without them get no result or a default",
                ""
                if status == "green"
                else f"fill {', '.join(missing)} (import a richer dataset or edit a scenario)",
            )
        )
    if spec.geometry:
        if profile.with_geometry < profile.objects:
            checks.append(
                Check(
                    f"{spec.layer}: 3D geometry",
                    "amber" if profile.with_geometry else severity,
                    _share(profile.with_geometry, profile.objects),
                    "every object",
                    "objects without geometry are left out",
                    "import the 3D model of these objects",
                )
            )
        if spec.min_lod and profile.lods:
            below = sum(
                n for lod, n in profile.lods.items() if _lod_key(lod) < _lod_key(spec.min_lod)
            )
            best = max(profile.lods, key=_lod_key)
            checks.append(
                Check(
                    f"{spec.layer}: level of detail",
                    "green"
                    if not below
                    else "amber"
                    if below < profile.with_geometry
                    else severity,
                    f"highest LoD {best}; {below:,} objects below {spec.min_lod}",
                    f"LoD {spec.min_lod} or more",
                    "" if not below else "objects below it give coarser or no results",
                    "" if not below else f"import LoD {spec.min_lod} geometry (3D BAG has 2.2)",
                )
            )
    return checks


def extent_km2(conn: Connection, view: View) -> float:
    condition, params = view.visible("o")
    row = conn.execute(
        text(
            "SELECT min(o.minx), min(o.miny), max(o.maxx), max(o.maxy) FROM city_objects o "
            f"WHERE {condition} AND NOT o.deleted"
        ),
        params,
    ).one()
    if row[0] is None:
        return 0.0
    return float((row[2] - row[0]) * (row[3] - row[1]) / 1e6)


def _memory_mb() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20)
    except (ValueError, OSError, AttributeError):
        return 0


def fit_report(
    conn: Connection,
    twin: Twin,
    view: View,
    manifest: Manifest,
    page: ProductPage,
    *,
    sensors: int = 0,
) -> FitReport:
    """The report of ``manifest`` (with its page) against the twin's scenario ``view``."""
    report = FitReport(manifest.id, manifest.version, twin.name)
    for spec in manifest.inputs.layers:
        report.checks += _layer_checks(spec, layer_profile(conn, view, spec), page)
    for stream in manifest.inputs.sensors:
        if sensors:
            continue
        report.checks.append(
            Check(
                f"sensor data: {stream.observed_property}",
                "red" if stream.required else "amber",
                "no SensorThings datastreams in the twin",
                f"a datastream of {stream.observed_property}"
                + (f" ({stream.unit})" if stream.unit else ""),
                "the app cannot run without it" if stream.required else "poorer results",
                "connect the sensors through the SensorThings API",
            )
        )
    if manifest.inputs.crs:
        accepted = {horizontal(c).to_epsg() for c in manifest.inputs.crs}
        ok = horizontal(twin.crs).to_epsg() in accepted
        report.checks.append(
            Check(
                "coordinate reference system",
                "green" if ok else "red",
                twin.crs,
                " or ".join(manifest.inputs.crs),
                "" if ok else "the app refuses to run in another CRS",
                "" if ok else "create a twin in a CRS the app works in",
            )
        )
    if manifest.inputs.max_extent_km2:
        area = extent_km2(conn, view)
        limit = manifest.inputs.max_extent_km2
        report.checks.append(
            Check(
                "extent",
                "green" if area <= limit else "amber",
                f"{area:,.2f} km²",
                f"at most {limit:,.2f} km²",
                ""
                if area <= limit
                else "beyond what the publisher tested: it may run out of memory or time",
                "" if area <= limit else "run it on a scenario or a twin of part of the city",
            )
        )
    resources = manifest.resources
    memory, cores = _memory_mb(), os.cpu_count() or 1
    report.checks.append(
        Check(
            "memory",
            "green" if resources.memory_mb <= memory else "red",
            f"{memory:,} MB on this platform",
            f"{resources.memory_mb:,} MB",
            "" if resources.memory_mb <= memory else "runs would be stopped at the limit",
            "" if resources.memory_mb <= memory else "run it on a larger executor (Dask)",
        )
    )
    report.checks.append(
        Check(
            "processor cores",
            "green" if resources.cpu <= cores else "amber",
            f"{cores} on this platform",
            f"{resources.cpu:g}",
            "" if resources.cpu <= cores else "runs take longer than the publisher's figures",
        )
    )
    if resources.gpu:
        report.checks.append(
            Check(
                "GPU",
                "red",
                "none on this platform",
                "a GPU",
                "the app cannot run",
                "run it on a Dask executor with a GPU",
            )
        )
    return report
