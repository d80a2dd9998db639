"""GeoJSON and GeoPackage in: 2D features become city objects.

Polygons become an LoD0 footprint (MultiSurface); a building with a known height also gets an
LoD1 block (Solid) extruded from it, so it can be used in 3D at once. Points become MultiPoint,
lines MultiLineString. The object type comes from a ``type`` property, or the layer name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import shapely

from tweeling.errors import InputFileError, InvalidInput
from tweeling.twin.crs import CRS84, parse_crs
from tweeling.twin.import_source import BATCH_SIZE, ImportSource
from tweeling.twin.model import CITYJSON_TYPES, LAYER_OF_TYPE, CityObject, JSONDict

_TYPE_OF_LAYER = {
    "buildings": "Building",
    "building": "Building",
    "panden": "Building",
    "pand": "Building",
    "roads": "Road",
    "road": "Road",
    "wegdeel": "Road",
    "trees": "SolitaryVegetationObject",
    "vegetation": "PlantCover",
    "landuse": "LandUse",
    "water": "WaterBody",
    "waterdeel": "WaterBody",
    "bridges": "Bridge",
}
_FEATURE_COLLECTION = re.compile(rb'"type"\s*:\s*"FeatureCollection"')
_HEIGHT_KEYS = ("measuredHeight", "height", "hoogte")
_ID_KEYS = ("id", "identificatie", "object_id", "fid")


def _object_type(properties: JSONDict, layer: str) -> str:
    declared = properties.pop("type", None) or properties.pop("cityjson_type", None)
    if isinstance(declared, str) and (declared in CITYJSON_TYPES or declared.startswith("+")):
        return declared
    if layer.lower() in _TYPE_OF_LAYER:
        return _TYPE_OF_LAYER[layer.lower()]
    if layer in LAYER_OF_TYPE:
        return layer
    return "GenericCityObject"


def _height(properties: JSONDict) -> float | None:
    for key in _HEIGHT_KEYS:
        value = properties.get(key)
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    roof, ground = properties.get("b3_h_dak_max"), properties.get("b3_h_maaiveld")
    if isinstance(roof, (int, float)) and isinstance(ground, (int, float)) and roof > ground:
        return float(roof - ground)
    return None


def feature_to_object(
    oid: str, otype: str, properties: JSONDict, geom: shapely.Geometry | None
) -> CityObject:
    """One 2D feature as a city object (with an LoD1 block for buildings of known height)."""
    obj = CityObject(id=oid, type=otype, attributes=properties)
    if geom is None or geom.is_empty:
        return obj
    kind = geom.geom_type
    parts = list(getattr(geom, "geoms", [geom]))
    verts: list[list[float]] = []

    def add(coord: Sequence[float]) -> int:
        verts.append([float(coord[0]), float(coord[1]), float(coord[2]) if len(coord) > 2 else 0.0])
        return len(verts) - 1

    if kind in ("Polygon", "MultiPolygon"):
        surfaces = []
        rings_per_poly = []
        for poly in parts:
            rings = [list(poly.exterior.coords)[:-1]] + [
                list(r.coords)[:-1] for r in poly.interiors
            ]
            rings_per_poly.append(rings)
            surfaces.append([[add(c) for c in ring] for ring in rings])
        obj.geometry.append({"type": "MultiSurface", "lod": "0", "boundaries": surfaces})
        height = _height(properties) if obj.layer == "buildings" else None
        if height:
            obj.geometry.append(_extrude(rings_per_poly, height, verts))
    elif kind in ("Point", "MultiPoint"):
        obj.geometry.append(
            {"type": "MultiPoint", "lod": "1", "boundaries": [add(p.coords[0]) for p in parts]}
        )
    elif kind in ("LineString", "MultiLineString"):
        obj.geometry.append(
            {
                "type": "MultiLineString",
                "lod": "0",
                "boundaries": [[add(c) for c in line.coords] for line in parts],
            }
        )
    else:
        raise InvalidInput(f"unsupported geometry type {kind}")
    obj.vertices = verts
    return obj


def _extrude(
    polygons: list[list[list[tuple[float, ...]]]], height: float, verts: list[list[float]]
) -> JSONDict:
    """An LoD1 block: ground face down, roof up, walls out (exterior rings made CCW)."""
    shells = []
    values = []
    for rings in polygons:
        oriented = []
        for n, ring in enumerate(rings):
            ccw = shapely.LinearRing(ring).is_ccw if len(ring) >= 3 else True
            # exterior counter-clockwise, holes clockwise, seen from above
            oriented.append(ring if ccw == (n == 0) else ring[::-1])
        base = min((c[2] if len(c) > 2 else 0.0) for ring in oriented for c in ring)
        bottom = [[_v(verts, c, base) for c in ring] for ring in oriented]
        top = [[_v(verts, c, base + height) for c in ring] for ring in oriented]
        faces = [[ring[::-1] for ring in bottom], [list(ring) for ring in top]]
        kinds = [0, 1]
        for b_ring, t_ring in zip(bottom, top, strict=True):
            n = len(b_ring)
            for i in range(n):
                j = (i + 1) % n
                faces.append([[b_ring[i], b_ring[j], t_ring[j], t_ring[i]]])
                kinds.append(2)
        shells.extend(faces)
        values.extend(kinds)
    return {
        "type": "Solid",
        "lod": "1",
        "boundaries": [shells],
        "semantics": {
            "surfaces": [
                {"type": "GroundSurface"},
                {"type": "RoofSurface"},
                {"type": "WallSurface"},
            ],
            "values": [values],
        },
    }


def _v(verts: list[list[float]], c: Sequence[float], z: float) -> int:
    verts.append([float(c[0]), float(c[1]), round(z, 3)])
    return len(verts) - 1


def _pick_id(properties: JSONDict, fallback: str) -> str:
    for key in _ID_KEYS:
        value = properties.get(key)
        if value not in (None, ""):
            return str(value)
    return fallback


def _batched(objects: Iterator[CityObject]) -> Iterator[list[CityObject]]:
    batch: list[CityObject] = []
    for obj in objects:
        batch.append(obj)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


class GeoJSONImporter:
    """A GeoJSON FeatureCollection; CRS84 (RFC 7946) unless the file or --crs says otherwise."""

    format = "geojson"
    media_types: tuple[str, ...] = ("application/geo+json",)
    suffix = ".geojson"

    def accepts(self, path: Path, head: bytes) -> bool:
        name = path.name.lower()
        return name.endswith(".geojson") or (
            name.endswith(".json") and _FEATURE_COLLECTION.search(head) is not None
        )

    def open(self, path: Path, crs: str | None) -> ImportSource:
        data = path.read_bytes()
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InputFileError(path, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise InputFileError(path, "not a GeoJSON FeatureCollection")
        declared = ((doc.get("crs") or {}).get("properties") or {}).get("name")
        try:
            file_crs = parse_crs(declared) if declared else None
            given = parse_crs(crs) if crs else None
        except InvalidInput as exc:
            raise InputFileError(path, exc.message) from None
        layer = path.name.split(".")[0]
        features = doc.get("features")
        if not isinstance(features, list):
            raise InputFileError(path, "'features' is missing or not a list")

        def objects() -> Iterator[CityObject]:
            for n, feature in enumerate(features):
                if not isinstance(feature, dict) or feature.get("type") != "Feature":
                    raise InputFileError(path, f"feature {n} is not a GeoJSON Feature")
                properties = dict(feature.get("properties") or {})
                oid = str(feature["id"]) if feature.get("id") is not None else None
                oid = oid or _pick_id(properties, f"{layer}-{n + 1}")
                try:
                    geom = (
                        shapely.from_geojson(orjson.dumps(feature["geometry"]))
                        if feature.get("geometry")
                        else None
                    )
                    yield feature_to_object(oid, _object_type(properties, layer), properties, geom)
                except (shapely.errors.GEOSException, InvalidInput, ValueError) as exc:
                    raise InputFileError(path, f"bad geometry: {exc}", oid) from None

        return ImportSource(
            path=path,
            format=self.format,
            version="RFC 7946",
            crs=given or file_crs or CRS84,
            batches=_batched(objects()),
            bytes_read=lambda: len(data),
        )


class GeoPackageImporter:
    """Every vector layer of a GeoPackage (read through GDAL by pyogrio)."""

    format = "gpkg"
    media_types: tuple[str, ...] = ("application/geopackage+sqlite3",)
    suffix = ".gpkg"

    def accepts(self, path: Path, head: bytes) -> bool:
        return head.startswith(b"SQLite format 3") and path.name.lower().endswith(".gpkg")

    def open(self, path: Path, crs: str | None) -> ImportSource:
        import pyogrio

        try:
            layers = [str(name) for name, _kind in pyogrio.list_layers(path)]
        except Exception as exc:  # GDAL reports corrupt files with its own error classes
            raise InputFileError(path, f"cannot read GeoPackage: {exc}") from None
        infos = {name: pyogrio.read_info(path, layer=name) for name in layers}
        crss = {str(info["crs"]) for info in infos.values() if info.get("crs")}
        try:
            given = parse_crs(crs) if crs else None
            found = [parse_crs(c) for c in crss]
        except InvalidInput as exc:
            raise InputFileError(path, exc.message) from None
        if len(set(found)) > 1:
            raise InputFileError(
                path, f"layers use different CRSs: {', '.join(sorted(set(found)))}"
            )
        size = path.stat().st_size

        def objects() -> Iterator[CityObject]:
            for name in layers:
                if infos[name].get("geometry_type") is None:
                    continue
                _meta, _fids, geometry, fields = pyogrio.raw.read(path, layer=name)
                field_names = [str(f) for f in _meta["fields"]]
                geoms = shapely.from_wkb(geometry)
                for n in range(len(geoms)):
                    properties: dict[str, Any] = {}
                    for key, column in zip(field_names, fields, strict=True):
                        value = column[n]
                        properties[key] = value.item() if hasattr(value, "item") else value
                    oid = _pick_id(properties, f"{name}-{n + 1}")
                    yield feature_to_object(
                        oid, _object_type(properties, name), properties, geoms[n]
                    )

        return ImportSource(
            path=path,
            format=self.format,
            version="1.x",
            crs=given or (found[0] if found else None),
            batches=_batched(objects()),
            bytes_read=lambda: size,
        )
