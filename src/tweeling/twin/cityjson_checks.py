"""The rules of the CityJSON specification that its JSON Schema cannot express.

The schema says a scale is a number, an index an integer, an extent six numbers; the
specification says more: a scale is positive, an index points at something that exists, an
extent's minimum is not above its maximum, a child names its parent back. These checks run
on every version (1.0, 1.1, 2.0) and on every object — also where the official schema is not
applied (CityJSON 1.x) — so they are plain loops over small lists, cheap enough for the
import's fast path. Each failure names the rule and the place.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from tweeling.twin.geometry import BOUNDARY_DEPTH

# "lod" as CityJSON 1.1 and 2.0 write it: one digit, or "X.Y" (TU Delft's refined LoDs).
LODS = frozenset(["0", "1", "2", "3"] + [f"{a}.{b}" for a in range(4) for b in range(4)])
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CRS_URL = re.compile(r"^(http|https)://www.opengis.net/def/crs/")
_UNIT_NUMBERS = ("ambientIntensity", "shininess", "transparency")
_UNIT_COLOURS = ("diffuseColor", "emissiveColor", "specularColor")


class SpecViolation(ValueError):
    """A rule of the specification is broken; ``object_id`` says where, when in an object."""

    def __init__(self, problem: str, object_id: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.object_id = object_id


@dataclass(frozen=True)
class Context:
    """What an object's indices may point at: the file's appearance and templates."""

    version: str | None = None  # None: not known (an API document); version-free rules only
    materials: int = 0
    textures: int = 0
    texture_vertices: int = 0
    templates: int = 0


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _numbers(value: Any, count: int, what: str) -> list[float]:
    if not isinstance(value, list) or len(value) != count or not all(map(_is_number, value)):
        raise SpecViolation(f"{what} must be {count} finite numbers, found {_show(value)}")
    return value


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, list) else _show(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


# -- the document around the objects ---------------------------------------------------------


def check_transform(transform: Any) -> None:
    if transform is None:
        return
    if not isinstance(transform, dict):
        raise SpecViolation("'transform' must be an object with 'scale' and 'translate'")
    scale = _numbers(transform.get("scale"), 3, "transform.scale")
    _numbers(transform.get("translate"), 3, "transform.translate")
    bad = [s for s in scale if s <= 0]
    if bad:
        raise SpecViolation(f"transform.scale must be greater than 0, found {_show(scale)}")


def check_extent(extent: Any, what: str, object_id: str | None = None) -> None:
    """``[minx, miny, minz, maxx, maxy, maxz]`` with each minimum at most its maximum."""
    if extent is None:
        return
    try:
        values = _numbers(extent, 6, what)
    except SpecViolation as exc:
        raise SpecViolation(exc.problem, object_id) from None
    for axis, low, high in zip("xyz", values[:3], values[3:], strict=True):
        if low > high:
            raise SpecViolation(
                f"{what}: min{axis} {low} is greater than max{axis} {high}", object_id
            )


def check_metadata(metadata: Any, version: str | None) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise SpecViolation("'metadata' must be an object")
    check_extent(metadata.get("geographicalExtent"), "metadata.geographicalExtent")
    reference_date = metadata.get("referenceDate")
    if reference_date is not None and not _is_full_date(reference_date):
        raise SpecViolation(
            f"metadata.referenceDate must be a date as YYYY-MM-DD (RFC 3339 full-date), "
            f"found {_show(reference_date)}"
        )
    crs = metadata.get("referenceSystem")
    if crs is not None and (not isinstance(crs, str) or not crs.strip()):
        raise SpecViolation(f"metadata.referenceSystem must be a text, found {_show(crs)}")
    if version == "2.0" and isinstance(crs, str) and not _CRS_URL.match(crs):
        raise SpecViolation(
            f"metadata.referenceSystem {crs!r} is not a CRS URL as CityJSON 2.0 requires "
            "(e.g. https://www.opengis.net/def/crs/EPSG/0/7415)"
        )


def _is_full_date(value: Any) -> bool:
    if not isinstance(value, str) or not _FULL_DATE.fullmatch(value):
        return False
    try:
        date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        return False
    return True


def check_appearance(appearance: Any, where: str = "appearance") -> tuple[int, int, int]:
    """Materials' values in 0..1, textures that name an image, UV pairs; returns the counts."""
    if appearance is None:
        return 0, 0, 0
    if not isinstance(appearance, dict):
        raise SpecViolation(f"'{where}' must be an object")
    materials = appearance.get("materials") or []
    textures = appearance.get("textures") or []
    uv = appearance.get("vertices-texture")
    if not isinstance(materials, list) or not isinstance(textures, list):
        raise SpecViolation(f"{where}.materials and {where}.textures must be lists")
    for i, material in enumerate(materials):
        _check_material(material, f"{where}.materials[{i}]")
    for i, texture in enumerate(textures):
        if not isinstance(texture, dict):
            raise SpecViolation(f"{where}.textures[{i}] must be an object")
        if not isinstance(texture.get("image"), str) or texture.get("type") not in ("PNG", "JPG"):
            raise SpecViolation(
                f"{where}.textures[{i}] must have an 'image' and a 'type' of PNG or JPG"
            )
        border = texture.get("borderColor")
        if border is not None:
            _unit_values(border, f"{where}.textures[{i}].borderColor", (3, 4))
    if textures and uv is None:
        raise SpecViolation(f"{where} has textures but no 'vertices-texture' (UV coordinates)")
    uv = uv or []
    if not isinstance(uv, list):
        raise SpecViolation(f"{where}.vertices-texture must be a list of [u, v] pairs")
    for i, pair in enumerate(uv):
        _numbers(pair, 2, f"{where}.vertices-texture[{i}]")
    return len(materials), len(textures), len(uv)


def _check_material(material: Any, where: str) -> None:
    if not isinstance(material, dict) or not isinstance(material.get("name"), str):
        raise SpecViolation(f"{where} must be an object with a 'name'")
    for key in _UNIT_NUMBERS:
        if key in material:
            _unit_values([material[key]], f"{where}.{key}", (1,))
    for key in _UNIT_COLOURS:
        if key in material:
            _unit_values(material[key], f"{where}.{key}", (3,))


def _unit_values(values: Any, where: str, sizes: tuple[int, ...]) -> None:
    if (
        not isinstance(values, list)
        or len(values) not in sizes
        or not all(_is_number(v) and 0.0 <= v <= 1.0 for v in values)
    ):
        raise SpecViolation(f"{where} must be numbers between 0.0 and 1.0, found {_show(values)}")


def check_template_vertices(vertices: Any) -> None:
    if not isinstance(vertices, list):
        raise SpecViolation("geometry-templates.vertices-templates must be a list")
    for i, vertex in enumerate(vertices):
        _numbers(vertex, 3, f"geometry-templates.vertices-templates[{i}]")


def check_vertices(vertices: npt.NDArray[np.float64], where: str = "vertices") -> None:
    """Finite coordinates (the array is already n × 3)."""
    if vertices.size and not np.isfinite(vertices).all():
        row = int(np.flatnonzero(~np.isfinite(vertices).all(axis=1))[0])
        raise SpecViolation(f"{where}[{row}] is not a finite number: {vertices[row].tolist()}")


# -- one city object ------------------------------------------------------------------------


def check_object(oid: str, raw: dict[str, Any], context: Context) -> None:
    """An object's own rules (its geometry, extent, links as data); not its vertex indices."""
    check_extent(raw.get("geographicalExtent"), "geographicalExtent", oid)
    for key in ("parents", "children"):
        links = raw.get(key)
        if links is not None and (
            not isinstance(links, list) or not all(isinstance(x, str) for x in links)
        ):
            raise SpecViolation(f"'{key}' must be a list of object ids", oid)
    roles = raw.get("children_roles")
    if roles is not None and (
        not isinstance(roles, list) or len(roles) != len(raw.get("children") or [])
    ):
        raise SpecViolation("'children_roles' must have one role per child", oid)
    geometries = raw.get("geometry")
    if isinstance(geometries, list):
        for i, geom in enumerate(geometries):
            if isinstance(geom, dict):
                try:
                    check_geometry(geom, context)
                except SpecViolation as exc:
                    raise SpecViolation(f"geometry[{i}]: {exc.problem}", oid) from None


def check_geometry(geom: Mapping[str, Any], context: Context) -> None:
    gtype = geom.get("type")
    depth = BOUNDARY_DEPTH.get(gtype) if isinstance(gtype, str) else None
    if depth is None:
        raise SpecViolation(f"unknown geometry type {_show(gtype)}")
    if gtype == "GeometryInstance":
        _check_instance(geom, context)
        return
    _check_lod(geom.get("lod"), context.version)
    boundaries = geom.get("boundaries")
    if not isinstance(boundaries, list):
        raise SpecViolation(f"{gtype} geometry has no boundaries")
    semantics = geom.get("semantics")
    if semantics is not None:
        _check_semantics(semantics, boundaries, depth)
    material = geom.get("material")
    if material is not None:
        _check_material_values(material, boundaries, depth, context.materials)
    texture = geom.get("texture")
    if texture is not None:
        _check_texture_values(texture, boundaries, depth, context)


def _check_lod(lod: Any, version: str | None) -> None:
    if version == "1.0" or version is None:
        # CityJSON 1.0 wrote the LoD as a number (2, 2.2); read either form then
        if _is_number(lod) and f"{lod:g}" in LODS:
            return
        if version == "1.0" and isinstance(lod, str) and lod in LODS:
            return
    if isinstance(lod, str) and lod in LODS:
        return
    if lod is None:
        raise SpecViolation("'lod' is missing")
    raise SpecViolation(
        f'\'lod\' must be a level of detail like "2" or "2.2" (0–3, one decimal 0–3), '
        f"found {_show(lod)}"
    )


def _check_instance(geom: Mapping[str, Any], context: Context) -> None:
    template: Any = geom.get("template")
    if not _is_int(template) or not 0 <= template < context.templates:
        raise SpecViolation(
            f"geometry template {_show(template)} does not exist "
            f"({context.templates} templates in the file)"
        )
    boundaries = geom.get("boundaries")
    if not isinstance(boundaries, list) or len(boundaries) != 1 or not _is_int(boundaries[0]):
        raise SpecViolation(
            "a GeometryInstance's boundaries must be one vertex index (its reference point)"
        )
    _numbers(geom.get("transformationMatrix"), 16, "transformationMatrix")


@functools.lru_cache(maxsize=256)
def _indices(limit: int) -> frozenset[int | None]:
    """The values an index into a list of ``limit`` things may take (null: none)."""
    return frozenset([None, *range(limit)])


def _values_depth(boundary_depth: int) -> int:
    # points and linestrings get one value each; surfaces one per surface (depth − 2)
    return 1 if boundary_depth <= 2 else boundary_depth - 2


def _check_shaped(
    values: Any, boundaries: Any, depth: int, limit: int, what: str, where: str = ""
) -> None:
    """``values`` mirrors ``boundaries`` for ``depth`` levels; leaves are null or 0..limit-1."""
    if values is None:
        return  # no value for this whole part
    if not isinstance(values, list) or len(values) != len(boundaries):
        count = len(values) if isinstance(values, list) else _show(values)
        raise SpecViolation(
            f"{what}{where} has {count} entries where the boundaries have {len(boundaries)}"
        )
    if depth == 1:
        try:
            fine = _indices(limit).issuperset(values)  # a set test: this runs per surface
        except TypeError:  # something unhashable (a list) among the values
            fine = False
        if not fine:
            for i, value in enumerate(values):
                if value is not None and (not _is_int(value) or not 0 <= value < limit):
                    raise SpecViolation(
                        f"{what}{where}[{i}] is {_show(value)}: must be null or 0..{limit - 1}"
                        if limit
                        else f"{what}{where}[{i}] is {_show(value)}: there is nothing to point at"
                    )
        return
    for i, (part, bound) in enumerate(zip(values, boundaries, strict=True)):
        if not isinstance(bound, list):
            raise SpecViolation(f"malformed boundaries at {where}[{i}]")
        _check_shaped(part, bound, depth - 1, limit, what, f"{where}[{i}]")


def _check_semantics(semantics: Any, boundaries: list[Any], depth: int) -> None:
    if not isinstance(semantics, dict):
        raise SpecViolation("'semantics' must be an object with 'surfaces' and 'values'")
    surfaces = semantics.get("surfaces")
    if not isinstance(surfaces, list) or "values" not in semantics:
        raise SpecViolation("'semantics' must have 'surfaces' (a list) and 'values'")
    count = len(surfaces)
    for i, surface in enumerate(surfaces):
        if not isinstance(surface, dict) or not isinstance(surface.get("type"), str):
            raise SpecViolation(f"semantics.surfaces[{i}] must be an object with a 'type'")
        if "parent" not in surface and "children" not in surface:
            continue
        parent = surface.get("parent")
        if parent is not None and (not _is_int(parent) or not 0 <= parent < count):
            raise SpecViolation(
                f"semantics.surfaces[{i}].parent {_show(parent)} is not a surface (0..{count - 1})"
            )
        children = surface.get("children")
        if children is not None and (
            not isinstance(children, list)
            or not all(_is_int(c) and 0 <= c < count for c in children)
        ):
            raise SpecViolation(
                f"semantics.surfaces[{i}].children {_show(children)} must be surfaces "
                f"(0..{count - 1})"
            )
    _check_shaped(semantics["values"], boundaries, _values_depth(depth), count, "semantics.values")


def _check_material_values(
    material: Any, boundaries: list[Any], depth: int, materials: int
) -> None:
    if not isinstance(material, dict):
        raise SpecViolation("'material' must be an object of themes")
    for theme, spec in material.items():
        what = f"material[{theme!r}]"
        if not isinstance(spec, dict) or ("value" in spec) == ("values" in spec):
            raise SpecViolation(f"{what} must have either 'value' or 'values'")
        if "value" in spec:
            value = spec["value"]
            if not _is_int(value) or not 0 <= value < materials:
                raise SpecViolation(
                    f"{what}.value {_show(value)} is not a material of the file "
                    f"({materials} materials)"
                )
        else:
            _check_shaped(spec["values"], boundaries, _values_depth(depth), materials, what)


def _check_texture_values(
    texture: Any, boundaries: list[Any], depth: int, context: Context
) -> None:
    if depth < 3:
        raise SpecViolation("only surfaces can have textures")
    if not isinstance(texture, dict):
        raise SpecViolation("'texture' must be an object of themes")
    for theme, spec in texture.items():
        what = f"texture[{theme!r}].values"
        if not isinstance(spec, dict) or not isinstance(spec.get("values"), list):
            raise SpecViolation(f"texture[{theme!r}] must have 'values'")
        _check_rings(spec["values"], boundaries, depth, context, what)


def _check_rings(
    values: Any, boundaries: list[Any], depth: int, context: Context, where: str
) -> None:
    """Down to each ring: [texture, uv, uv, …] (one uv per vertex), or [null, …]."""
    if not isinstance(values, list) or len(values) != len(boundaries):
        raise SpecViolation(f"{where} does not have the shape of the boundaries")
    if depth > 2:
        for i, (part, bound) in enumerate(zip(values, boundaries, strict=True)):
            if not isinstance(bound, list):
                raise SpecViolation(f"malformed boundaries at {where}[{i}]")
            _check_rings(part, bound, depth - 1, context, f"{where}[{i}]")
        return
    # depth 2: ``values`` lists the rings of one surface, ``boundaries`` their vertex lists
    for i, (ring, bound) in enumerate(zip(values, boundaries, strict=True)):
        place = f"{where}[{i}]"
        if not isinstance(ring, list) or not ring:
            raise SpecViolation(f"{place} must be [texture, uv…] or [null]")
        if ring[0] is None:
            if any(v is not None for v in ring):
                raise SpecViolation(f"{place} mixes null and indices")
            continue
        if not isinstance(bound, list) or len(ring) != len(bound) + 1:
            raise SpecViolation(
                f"{place} has {len(ring) - 1} UV indices for a ring of {_count(bound)} vertices"
            )
        if not _is_int(ring[0]) or not 0 <= ring[0] < context.textures:
            raise SpecViolation(
                f"{place}: texture {_show(ring[0])} does not exist "
                f"({context.textures} textures in the file)"
            )
        for uv in ring[1:]:
            if not _is_int(uv) or not 0 <= uv < context.texture_vertices:
                raise SpecViolation(
                    f"{place}: UV index {_show(uv)} does not exist "
                    f"({context.texture_vertices} texture vertices in the file)"
                )


# -- links between objects ------------------------------------------------------------------


FEATURE_FORBIDS = ("transform", "version", "metadata", "geometry-templates", "extensions")
_FEATURE_FORBIDS = frozenset(FEATURE_FORBIDS)


def check_feature_members(feature: Mapping[str, Any]) -> None:
    """What a CityJSONFeature may not carry: it belongs in the CityJSON object before it."""
    if not _FEATURE_FORBIDS.isdisjoint(feature.keys()):
        present = [key for key in FEATURE_FORBIDS if key in feature]
        raise SpecViolation(
            f"a CityJSONFeature may not have {', '.join(map(repr, present))}: that belongs "
            "in the CityJSON header line of a CityJSONSeq"
        )


def check_hierarchy(objects: Mapping[str, Any], complete: bool) -> None:
    """Every child exists and names its parent back; every parent names its child.

    ``complete``: the objects are the whole file, so a parent must be among them too. In a
    CityJSONFeature only the children must be (the specification puts a feature's whole
    subtree in it), a parent may live in another feature, e.g. a CityObjectGroup.
    """
    for oid, raw in objects.items():
        if not isinstance(raw, dict):
            continue
        for child in raw.get("children") or ():
            other = objects.get(child)
            if not isinstance(other, dict):
                unit = "file" if complete else "feature"
                raise SpecViolation(f"child {child!r} is not in the {unit}", oid)
            if oid not in (other.get("parents") or ()):
                raise SpecViolation(f"child {child!r} does not name it among its 'parents'", oid)
        for parent in raw.get("parents") or ():
            other = objects.get(parent)
            if not isinstance(other, dict):
                if complete:
                    raise SpecViolation(f"parent {parent!r} is not in the file", oid)
                continue
            if oid not in (other.get("children") or ()):
                raise SpecViolation(f"parent {parent!r} does not name it among its 'children'", oid)
