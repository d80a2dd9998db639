"""The Tweeling app SDK: everything an app may use, in one module.

An app is one function, named by ``entry_point`` in its ``tweeling-app.toml``::

    from tweeling.sdk import Context, Inputs, Outputs

    def run(inputs: Inputs, parameters: dict, context: Context) -> Outputs:
        buildings = inputs.layer("buildings")
        heights = buildings.column("measuredHeight")
        context.progress(0.5, "heights read")
        out = Outputs()
        out.attribute("height_class", buildings.ids, ["tall" if h > 20 else "low" for h in heights])
        out.indicator("buildings", len(buildings))
        return out

The platform prepares the inputs as files in open formats before the run — a GeoParquet
table per layer (``id``, ``type``, ``parent``, the attributes the manifest declares, and the
footprint as WKB in the twin's CRS), and where the manifest asks for geometry the objects as
CityJSON features and as triangle arrays — and mounts them read-only. The app never sees the
database, so the same function runs in a local worker, on a Dask worker or behind a remote
OGC API – Processes endpoint. Outputs are checked against the manifest (names, types, ranges,
one value per object) and stored as attributes named ``<app-id>.<output>``.

``run_local`` runs an app function on a folder of inputs in-process, for an app's own tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "AppError",
    "Context",
    "Inputs",
    "Layer",
    "Mesh",
    "Outputs",
    "run_local",
    "write_test_inputs",
]

INPUTS_INDEX = "inputs.json"


class AppError(Exception):
    """Raise this for a problem in the data the app cannot work with; the run fails with the
    message shown to the user (any other exception fails it as an app defect)."""


@dataclass(frozen=True)
class Mesh:
    """Triangles of a layer in the twin's CRS (metres): ``corners`` (n, 3, 3), the index of
    each triangle's object in ``Layer.ids`` (``objects``, n) and its semantic surface type
    (``surfaces``, n: RoofSurface, WallSurface, GroundSurface, … or '' where not given)."""

    corners: npt.NDArray[np.float64]
    objects: npt.NDArray[np.int64]
    surfaces: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.corners.shape[0])

    def normals(self) -> npt.NDArray[np.float64]:
        """Unit normals, following each triangle's winding (outward for valid solids)."""
        a, b, c = self.corners[:, 0], self.corners[:, 1], self.corners[:, 2]
        n = np.cross(b - a, c - a)
        length = np.linalg.norm(n, axis=1, keepdims=True)
        unit: npt.NDArray[np.float64] = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
        return unit

    def roofs_and_walls(
        self, min_roof_normal_z: float = 0.1
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Which triangles are roof and which are wall: by their semantic surface type where
        the data gives one, else by their slope (faces whose normal points up by more than
        ``min_roof_normal_z`` are roof, about 84° from vertical by default; near-vertical
        ones are wall). Decided per triangle, since one model can mix LoD2 buildings with
        semantics and blocks without (a proposed building drawn as LoD1 among measured ones)."""
        up = self.normals()[:, 2]
        labelled = self.surfaces != ""
        roof = np.where(labelled, self.surfaces == "RoofSurface", up > min_roof_normal_z)
        wall = np.where(labelled, self.surfaces == "WallSurface", np.abs(up) <= min_roof_normal_z)
        return roof, wall

    def areas(self) -> npt.NDArray[np.float64]:
        a, b, c = self.corners[:, 0], self.corners[:, 1], self.corners[:, 2]
        return np.asarray(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1), dtype=np.float64)


class Layer:
    """One input layer: a table of its objects, and on request their 3D geometry."""

    def __init__(self, folder: Path, name: str, info: dict[str, Any]) -> None:
        self.name = name
        self._folder = folder
        self._info = info
        self._table: pa.Table | None = None

    def table(self) -> pa.Table:
        """The GeoParquet table (pyarrow): id, type, parent, declared attributes, footprint."""
        if self._table is None:
            self._table = pq.read_table(self._folder / self._info["table"])
        return self._table

    def __len__(self) -> int:
        return int(self.table().num_rows)

    @property
    def ids(self) -> list[str]:
        return [str(v) for v in self.table().column("id").to_pylist()]

    def column(self, attribute: str) -> list[Any]:
        """One declared attribute's values, in the order of ``ids`` (None where missing)."""
        table = self.table()
        if attribute not in table.column_names:
            declared = [c for c in table.column_names if c not in ("id", "type", "parent")]
            raise AppError(
                f"layer {self.name!r} has no attribute {attribute!r} in its inputs "
                f"(declared: {', '.join(declared) or 'none'})"
            )
        return list(table.column(attribute).to_pylist())

    def footprints(self) -> list[Any]:
        """Footprints as shapely geometries in the twin's CRS (None for objects without one)."""
        import shapely

        wkb = self.table().column("footprint").to_pylist()
        return [shapely.from_wkb(w) if w is not None else None for w in wkb]

    def mesh(self) -> Mesh:
        """Triangles of every object's most detailed geometry (manifest: ``geometry = true``)."""
        path = self._info.get("mesh")
        if not path:
            raise AppError(f"layer {self.name!r} was prepared without geometry (geometry = false)")
        arrays = {k: np.load(self._folder / name, allow_pickle=False) for k, name in path.items()}
        return Mesh(arrays["corners"], arrays["objects"], arrays["surfaces"])

    def cityjson(self) -> Iterator[dict[str, Any]]:
        """The layer's objects as CityJSONFeature documents (real coordinates, no transform)."""
        path = self._info.get("cityjson")
        if not path:
            raise AppError(f"layer {self.name!r} was prepared without geometry (geometry = false)")
        with open(self._folder / path, "rb") as handle:
            for line in handle:
                if line.strip():
                    yield orjson.loads(line)


class Inputs:
    """The run's inputs: layers by name, plus what they came from."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        index = orjson.loads((self.folder / INPUTS_INDEX).read_bytes())
        self.twin: str = index["twin"]
        self.scenario: str = index["scenario"]
        self.crs: str = index["crs"]
        self._layers: dict[str, dict[str, Any]] = index["layers"]

    @property
    def layers(self) -> list[str]:
        return list(self._layers)

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """A point of the twin's CRS as (longitude, latitude) in degrees, for sun positions."""
        from pyproj import CRS, Transformer

        crs = CRS.from_user_input(self.crs)
        if crs.is_compound:
            crs = crs.sub_crs_list[0]
        to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon, lat = to_wgs84.transform(x, y)
        return float(lon), float(lat)

    def has(self, name: str) -> bool:
        return name in self._layers

    def layer(self, name: str) -> Layer:
        if name not in self._layers:
            raise AppError(
                f"no input layer {name!r}: the manifest declares "
                f"{', '.join(self._layers) or 'none'}"
            )
        return Layer(self.folder, name, self._layers[name])


@dataclass
class Context:
    """Progress, log lines and the run's private work directory (the only writable place)."""

    workdir: Path
    on_progress: Callable[[float, str], None] = field(default=lambda f, m: None)
    on_log: Callable[[str], None] = field(default=lambda line: None)

    def progress(self, fraction: float, message: str = "") -> None:
        """Report how far the run is, from 0 to 1."""
        self.on_progress(min(1.0, max(0.0, float(fraction))), message)

    def log(self, message: str) -> None:
        self.on_log(str(message))


def _plain(value: Any) -> Any:
    """numpy scalars as Python values; NaN and infinities are refused as output values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise AppError("an output value is NaN or infinite; give None for 'no value'")
    return value


@dataclass
class Outputs:
    """What a run produced: per-object attributes, aggregate indicators and new layers."""

    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    indicators: dict[str, Any] = field(default_factory=dict)
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def attribute(self, name: str, ids: Sequence[str], values: Sequence[Any]) -> None:
        """One value per object for the declared attribute output ``name``."""
        if len(ids) != len(values):
            raise AppError(f"output {name!r}: {len(ids)} ids but {len(values)} values")
        column = self.attributes.setdefault(name, {})
        for oid, value in zip(ids, values, strict=True):
            if oid in column:
                raise AppError(f"output {name!r}: object {oid!r} has more than one value")
            column[str(oid)] = _plain(value)

    def indicator(self, name: str, value: Any) -> None:
        self.indicators[name] = _plain(value)

    def layer(self, name: str, features: dict[str, Any]) -> None:
        """A new layer as a GeoJSON FeatureCollection in the twin's CRS."""
        if features.get("type") != "FeatureCollection":
            raise AppError(f"output layer {name!r} must be a GeoJSON FeatureCollection")
        self.layers[name] = features

    def as_json(self) -> dict[str, Any]:
        return {"attributes": self.attributes, "indicators": self.indicators, "layers": self.layers}


def run_local(
    function: Callable[[Inputs, dict[str, Any], Context], Outputs],
    inputs: Path,
    parameters: dict[str, Any],
    workdir: Path,
) -> Outputs:
    """Run an app function in this process on a prepared inputs folder (for app tests)."""
    workdir.mkdir(parents=True, exist_ok=True)
    result = function(Inputs(inputs), dict(parameters), Context(workdir))
    if not isinstance(result, Outputs):
        raise AppError(f"the app returned {type(result).__name__}, not Outputs")
    return result


def write_test_inputs(
    folder: Path,
    layers: dict[str, list[dict[str, Any]]],
    *,
    crs: str = "EPSG:28992",
    twin: str = "test",
    scenario: str = "current",
) -> Path:
    """An inputs folder as the platform prepares it, from plain rows, for an app's own tests.

    Each row has ``id``, optionally ``type``, ``parent``, ``footprint`` (a shapely geometry
    or a list of (x, y) corners) and ``mesh`` (triangles (k, 3, 3) and their k semantic
    surface types, as ``tweeling.sdk.grid.extrude`` makes them), and any attributes.
    """
    import shapely

    folder.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"twin": twin, "scenario": scenario, "crs": crs, "layers": {}}
    for name, rows in layers.items():
        reserved = {"id", "type", "parent", "footprint", "mesh"}
        attributes = sorted({k for r in rows for k in r} - reserved)
        footprints = []
        for row in rows:
            shape = row.get("footprint")
            if shape is not None and not hasattr(shape, "wkb"):
                shape = shapely.Polygon(shape)
            footprints.append(shapely.to_wkb(shape) if shape is not None else None)
        table = pa.table(
            {
                "id": pa.array([str(r["id"]) for r in rows], pa.string()),
                "type": pa.array([r.get("type", "Building") for r in rows], pa.string()),
                "parent": pa.array([r.get("parent") for r in rows], pa.string()),
                **{a: pa.array([r.get(a) for r in rows]) for a in attributes},
                "footprint": pa.array(footprints, pa.binary()),
            }
        )
        pq.write_table(table, folder / f"{name}.parquet")
        info: dict[str, Any] = {"table": f"{name}.parquet", "objects": len(rows)}
        if any("mesh" in r for r in rows):
            info["mesh"] = _write_test_mesh(folder, name, rows)
        index["layers"][name] = info
    (folder / INPUTS_INDEX).write_bytes(orjson.dumps(index))
    return folder


def _write_test_mesh(folder: Path, name: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    corners, objects, surfaces = [], [], []
    for index, row in enumerate(rows):
        if "mesh" not in row:
            continue
        triangles, kinds = row["mesh"]
        triangles = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        kinds = list(kinds) if kinds is not None else [""] * len(triangles)
        if len(kinds) != len(triangles):
            raise ValueError(
                f"object {row['id']!r}: {len(triangles)} triangles, {len(kinds)} types"
            )
        corners.append(triangles)
        objects.append(np.full(len(triangles), index, dtype=np.int64))
        surfaces.append(np.asarray(kinds, dtype="<U32"))
    arrays = {
        "corners": np.concatenate(corners),
        "objects": np.concatenate(objects),
        "surfaces": np.concatenate(surfaces),
    }
    files = {}
    for key, array in arrays.items():
        files[key] = f"{name}.mesh-{key}.npy"
        np.save(folder / files[key], array, allow_pickle=False)
    return files
