"""Reading CityJSON objects — of a document or of CityJSONFeature lines — into city objects.

Every object is checked as it is read: against its type's part of the official 2.0 schema
(for 2.0 data) and against the specification's own rules (``cityjson_checks``), so a file is
refused with the rule, the object and the field. CityJSONSeq features are parsed a batch at
a time. Index checking, first-use ordering and the integer-to-real transform run vectorised
over the whole batch; a feature that does not fit that fast path (several objects sharing
vertices, vertices out of order, anything wrong) goes through the general path, which also
produces the precise error message. The files themselves are opened in ``cityjson_files``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from tweeling.errors import InputFileError, InvalidInput
from tweeling.twin.cityjson_checks import (
    Context,
    SpecViolation,
    check_appearance,
    check_feature_members,
    check_geometry,
    check_hierarchy,
    check_object,
    check_template_vertices,
    check_vertices,
)
from tweeling.twin.cityjson_schema import EXTENSION_TYPE, cityjson_schemas, schema_problem
from tweeling.twin.crs import parse_crs
from tweeling.twin.geometry import (
    BOUNDARY_DEPTH,
    BoundaryError,
    RealConverter,
    localise,
    make_to_real,
)
from tweeling.twin.model import CITYJSON_TYPES, CityObject, GeometryTemplate, JSONDict

_OWN_MEMBERS = frozenset(
    {"type", "attributes", "geometry", "parents", "children", "geographicalExtent"}
)
_APPEARANCE_MEMBERS = ("material", "texture")
_BRACKETS_TO_SPACES = bytes.maketrans(b"[]", b"  ")
_INDEX_CHARS = b"0123456789,-[]"
_NUMBER_CHARS = b"0123456789,-+.eE[]"


def json_problem(exc: orjson.JSONDecodeError, size: int) -> str:
    """What is wrong with a JSON text, for a person: where, and the usual suspects named."""
    where = f"line {exc.lineno} column {exc.colno}"
    ahead = exc.doc[exc.pos : exc.pos + 9].lstrip("-") if isinstance(exc.doc, str) else ""
    if ahead.startswith(("NaN", "Infinity")):
        return f"not a finite number at {where}: JSON (and CityJSON) has no NaN or Infinity"
    if "infinity" in exc.msg.lower():
        return f"number out of range at {where}: it is too large for a 64-bit float"
    if exc.pos >= size - 1 or "EOF" in exc.msg or "end of" in exc.msg.lower():
        return f"truncated file: the JSON ends unexpectedly (line {exc.lineno})"
    return f"invalid JSON at {where}: {exc.msg}"


def _normalise_lod(geom: JSONDict) -> JSONDict:
    lod = geom.get("lod")
    if lod is not None and not isinstance(lod, str):
        return {**geom, "lod": f"{lod:g}" if isinstance(lod, float) else str(lod)}
    return geom


def _vertex_array(vertices: Any) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(vertices, dtype=np.float64)
    except (TypeError, ValueError):
        raise BoundaryError("'vertices' must be a list of [x, y, z] numbers") from None
    if array.size == 0:
        return array.reshape(0, 3)
    if array.ndim != 2 or array.shape[1] != 3:
        raise BoundaryError("'vertices' must be a list of [x, y, z] numbers")
    try:
        check_vertices(array)
    except SpecViolation as exc:
        raise BoundaryError(exc.problem) from None
    return array


def _depth_ok(boundaries: Any, depth: int) -> bool:
    """Cheap shape check along the first path: lists nested ``depth`` deep, then an int."""
    if depth < 1:
        return False
    node = boundaries
    for _ in range(depth):
        if not isinstance(node, list):
            return False
        if not node:
            return True
        node = node[0]
    return isinstance(node, int)


@dataclass
class CityJSONParser:
    """Turns CityJSON objects (from a file or from feature lines) into city objects.

    ``context`` holds what the objects' indices may point at (appearance, templates) and the
    version whose rules apply; with version 2.0 every object is also validated against its
    type's part of the official schema. Picklable, so worker processes can parse CityJSONSeq
    lines in parallel.
    """

    path: Path
    transform: JSONDict | None = None
    templates: dict[int, str] = field(default_factory=dict)
    dropped_appearance: int = 0
    context: Context = field(default_factory=Context)
    notes: list[str] = field(default_factory=list)

    def error(self, problem: str, object_id: str | None = None) -> InputFileError:
        return InputFileError(self.path, problem, object_id)

    def violation(self, exc: SpecViolation, prefix: str = "") -> InputFileError:
        return self.error(prefix + exc.problem, exc.object_id)

    @property
    def convert(self) -> RealConverter:
        return make_to_real(self.transform)

    def read_templates(self, doc: JSONDict) -> list[GeometryTemplate]:
        block = doc.get("geometry-templates")
        if not block:
            return []
        if not isinstance(block, dict) or not isinstance(block.get("templates"), list):
            raise self.error("'geometry-templates' must have a list of 'templates'")
        try:
            check_template_vertices(block.get("vertices-templates"))
            verts = _vertex_array(block.get("vertices-templates"))
        except (SpecViolation, BoundaryError) as exc:
            raise self.error(str(exc)) from None
        out = []
        for i, tpl in enumerate(block["templates"]):
            try:
                if not isinstance(tpl, dict) or tpl.get("type") == "GeometryInstance":
                    raise SpecViolation("must be a geometry (not a GeometryInstance)")
                check_geometry(tpl, self.context)
                (geom,), used = localise([_normalise_lod(tpl)], len(verts))
            except (SpecViolation, BoundaryError) as exc:
                raise self.error(f"geometry template {i}: {exc}") from None
            local = verts[used].tolist()
            key = hashlib.sha256(orjson.dumps([geom, local], option=orjson.OPT_SORT_KEYS))
            template = GeometryTemplate(key.hexdigest(), geom, local)
            self.templates[i] = template.key
            out.append(template)
        return out

    # -- the general path -------------------------------------------------------------------

    def objects(
        self,
        city_objects: Any,
        vertices: Any,
        *,
        complete: bool = False,
        context: Context | None = None,
    ) -> list[CityObject]:
        """All objects of a CityJSON file or feature, sharing one vertex list.

        ``complete``: these are all the objects of the file, so parents must be among them.
        """
        if not isinstance(city_objects, dict):
            raise self.error("'CityObjects' is missing or not an object")
        try:
            array = _vertex_array(vertices)
        except BoundaryError as exc:
            raise self.error(str(exc)) from None
        context = context or self.context
        out = [self.city_object(oid, raw, array, context) for oid, raw in city_objects.items()]
        try:
            check_hierarchy(city_objects, complete)
        except SpecViolation as exc:
            raise self.violation(exc) from None
        return out

    def _checked(
        self, oid: str, raw: Any, context: Context
    ) -> tuple[str, JSONDict, list[JSONDict]]:
        if not isinstance(raw, dict):
            raise self.error("city object is not a JSON object", oid)
        otype = raw.get("type")
        if otype is None:
            raise self.error("missing 'type'", oid)
        if not isinstance(otype, str) or (
            otype not in CITYJSON_TYPES and not otype.startswith("+")
        ):
            raise self.error(f"unknown city object type {otype!r}", oid)
        if context.version == "2.0":
            self._schema_check(oid, otype, raw)
        try:
            check_object(oid, raw, context)
        except SpecViolation as exc:
            raise self.violation(exc) from None
        attributes = raw.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise self.error("'attributes' is not an object", oid)
        geometries = raw.get("geometry") or []
        if not isinstance(geometries, list):
            raise self.error("'geometry' is not a list", oid)
        return otype, attributes, [self.prepare_geometry(g, oid) for g in geometries]

    def _schema_check(self, oid: str, otype: str, raw: JSONDict) -> None:
        schemas = cityjson_schemas()
        validator = schemas.city_object(otype)
        if validator is None:
            if not schemas.extension_pattern.search(otype):
                raise self.error(
                    f"type {otype!r} is neither a CityJSON 2.0 type nor an extension type "
                    "('+' and a capital, e.g. '+NoiseBarrier')",
                    oid,
                )
            validator = schemas.city_object(EXTENSION_TYPE)
            assert validator is not None  # the schema has a branch for extension types
        problem = schema_problem(validator, raw)
        if problem:
            raise self.error(f"not valid CityJSON 2.0 at {problem}", oid)

    def city_object(
        self,
        oid: str,
        raw: Any,
        vertices: npt.NDArray[np.float64],
        context: Context | None = None,
    ) -> CityObject:
        otype, attributes, prepared = self._checked(oid, raw, context or self.context)
        try:
            geometry, used = localise(prepared, len(vertices))
        except BoundaryError as exc:
            raise self.error(str(exc), oid) from None
        return self._make(oid, otype, attributes, geometry, self.convert(vertices[used]), raw)

    @staticmethod
    def _make(
        oid: str,
        otype: str,
        attributes: JSONDict,
        geometry: list[JSONDict],
        vertices: npt.NDArray[np.float64],
        raw: JSONDict,
    ) -> CityObject:
        return CityObject(
            id=oid,
            type=otype,
            attributes=attributes,
            geometry=geometry,
            vertices=vertices,
            parents=list(raw.get("parents") or []),
            children=list(raw.get("children") or []),
            extra=(
                {}
                if raw.keys() <= _OWN_MEMBERS
                else {k: v for k, v in raw.items() if k not in _OWN_MEMBERS}
            ),
        )

    def prepare_geometry(self, raw: Any, oid: str) -> JSONDict:
        if not isinstance(raw, dict):
            raise self.error("geometry is not a JSON object", oid)
        geom = _normalise_lod(raw)
        if "material" in geom or "texture" in geom:  # _APPEARANCE_MEMBERS, tested inline
            self.dropped_appearance += 1
            geom = {k: v for k, v in geom.items() if k not in _APPEARANCE_MEMBERS}
        if geom.get("type") == "GeometryInstance":
            key = self.templates.get(geom.get("template", -1))
            if key is None:
                raise self.error(f"geometry template {geom.get('template')!r} does not exist", oid)
            geom = {**geom, "template": key}
        return geom

    # -- CityJSONFeature objects: lines of a CityJSONSeq, or a document on its own ----------

    def feature(self, line: bytes, lineno: int) -> JSONDict:
        try:
            feature = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.endswith(b"\n"):
                raise self.error(
                    f"line {lineno}: truncated file (last feature is cut off)"
                ) from None
            raise self.error(f"line {lineno}: {json_problem(exc, len(line))}") from None
        if not isinstance(feature, dict) or feature.get("type") != "CityJSONFeature":
            kind = feature.get("type") if isinstance(feature, dict) else type(feature).__name__
            raise self.error(f"line {lineno}: expected a CityJSONFeature, found {kind!r}")
        return feature

    def feature_context(self, feature: JSONDict, where: str = "") -> Context:
        """Check a feature's own members; the context its objects are read in.

        A feature's appearance is local to it (its objects' material and texture indices
        point into it); without one, the header's applies.
        """
        try:
            check_feature_members(feature)
        except SpecViolation as exc:
            raise self.violation(exc, where) from None
        if self.context.version == "2.0":
            problem = schema_problem(cityjson_schemas().feature, feature)
            if problem:
                raise self.error(f"{where}not a valid CityJSONFeature at {problem}")
        fid = feature.get("id")
        objects = feature.get("CityObjects")
        if not isinstance(fid, str) or not isinstance(objects, dict) or fid not in objects:
            raise self.error(
                f"{where}the feature's 'id' ({fid!r}) must name one of its CityObjects"
            )
        if "appearance" not in feature:
            return self.context
        try:
            materials, textures, uv = check_appearance(feature["appearance"])
        except SpecViolation as exc:
            raise self.violation(exc, where) from None
        return replace(self.context, materials=materials, textures=textures, texture_vertices=uv)

    def lines(self, lines: Sequence[tuple[int, bytes]]) -> list[CityObject]:
        """Parse a batch of feature lines; single-object features take the vectorised path."""
        slots: list[CityObject | None] = []
        fast: list[tuple[int, int, str, JSONDict, str, JSONDict, list[JSONDict], Any]] = []
        for lineno, line in lines:
            feature = self.feature(line, lineno)
            context = self.feature_context(feature, f"line {lineno}: ")
            city_objects = feature.get("CityObjects")
            vertices = feature.get("vertices")
            if (
                isinstance(city_objects, dict)
                and len(city_objects) == 1
                and isinstance(vertices, list)
            ):
                oid, raw = next(iter(city_objects.items()))
                try:
                    otype, attributes, prepared = self._checked(oid, raw, context)
                    check_hierarchy(city_objects, complete=False)
                except InputFileError as exc:
                    raise self._at_line(exc, lineno) from None
                except SpecViolation as exc:
                    raise self.violation(exc, f"line {lineno}: ") from None
                fast.append((len(slots), lineno, oid, raw, otype, attributes, prepared, vertices))
                slots.append(None)
            else:
                slots.extend(self._slow_feature(feature, lineno, context))
        if fast:
            for slot, obj in self._fast(fast):
                slots[slot] = obj
        return [obj for obj in slots if obj is not None]

    def _at_line(self, exc: InputFileError, lineno: int) -> InputFileError:
        return InputFileError(self.path, f"line {lineno}: {exc.problem}", exc.object_id)

    def _slow_feature(self, feature: JSONDict, lineno: int, context: Context) -> list[CityObject]:
        vertices = feature.get("vertices")
        if not isinstance(vertices, list):
            raise self.error(
                f"line {lineno}: 'vertices' is missing or not a list", feature.get("id")
            )
        try:
            return self.objects(feature.get("CityObjects"), vertices, context=context)
        except InputFileError as exc:
            raise self._at_line(exc, lineno) from None

    def _fast(
        self, items: list[tuple[int, int, str, JSONDict, str, JSONDict, list[JSONDict], Any]]
    ) -> Iterator[tuple[int, CityObject]]:
        index_text: list[bytes] = []
        vertex_text: list[bytes] = []
        n_index: list[int] = []
        n_vertex: list[int] = []
        usable: list[bool] = []
        for item in items:
            prepared, vertices = item[6], item[7]
            ok = True
            text = b""
            if prepared:
                dumped = orjson.dumps([g.get("boundaries") for g in prepared])
                # only integers and brackets, no empty list, nesting as the type demands
                ok = not dumped.translate(None, _INDEX_CHARS) and b"[]" not in dumped
                ok = ok and all(
                    _depth_ok(g["boundaries"], BOUNDARY_DEPTH.get(str(g.get("type")), -1))
                    for g in prepared
                )
                text = dumped.translate(_BRACKETS_TO_SPACES)
            vtext = orjson.dumps(vertices)
            ok = ok and not vtext.translate(None, _NUMBER_CHARS)
            vtext = vtext.translate(_BRACKETS_TO_SPACES)
            vcount = vtext.count(b",") + 1 if vertices else 0
            if not ok or vcount != 3 * len(vertices):
                usable.append(False)
                n_index.append(0)
                n_vertex.append(0)
                continue
            usable.append(True)
            if text:
                index_text.append(text)
            if vertices:
                vertex_text.append(vtext)
            n_index.append(text.count(b",") + 1 if text else 0)
            n_vertex.append(len(vertices))
        good = np.asarray(usable, dtype=bool)
        idx = _parse_numbers(index_text)
        verts = _parse_numbers(vertex_text).reshape(-1, 3)
        counts = np.asarray(n_index, dtype=np.int64)
        nverts = np.asarray(n_vertex, dtype=np.int64)
        if len(idx) != counts.sum() or len(verts) != nverts.sum():
            good[:] = False  # the text did not parse as plain numbers: take the general path
        else:
            good &= _first_use_ordered(idx, counts, nverts)
            if not np.isfinite(verts).all():
                good[:] = False  # the general path names the vertex that is not finite
        real = self.convert(verts) if good.any() else verts
        voff = np.zeros(len(items) + 1, dtype=np.int64)
        voff[1:] = np.cumsum(nverts)
        for k, (slot, lineno, oid, raw, otype, attrs, prepared, vertices) in enumerate(items):
            if good[k]:
                obj = self._make(oid, otype, attrs, prepared, real[voff[k] : voff[k + 1]], raw)
            else:
                # already checked and prepared: only its vertices did not fit the fast path
                try:
                    array = _vertex_array(vertices)
                    geometry, used = localise(prepared, len(array))
                except BoundaryError as exc:
                    raise self.error(f"line {lineno}: {exc}", oid) from None
                obj = self._make(oid, otype, attrs, geometry, self.convert(array[used]), raw)
            yield slot, obj

    def warnings(self) -> list[str]:
        out = list(self.notes)
        if self.dropped_appearance:
            out.append(
                f"appearance (materials/textures) of {self.dropped_appearance} geometries "
                "is not kept: Tweeling stores geometry, semantics and attributes"
            )
        return out


def _parse_numbers(chunks: list[bytes]) -> npt.NDArray[np.float64]:
    if not chunks:
        return np.zeros(0)
    try:
        return np.fromstring(b",".join(chunks).decode(), sep=",")
    except (ValueError, DeprecationWarning):  # numpy signals unparsable text with either
        return np.zeros(0)


def _first_use_ordered(
    idx: npt.NDArray[np.float64], counts: npt.NDArray[np.int64], nverts: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Per object: indices are integers in range, every vertex used, in first-use order."""
    n = len(counts)
    ok = np.ones(n, dtype=bool)
    ok &= (counts > 0) == (nverts > 0)
    if not len(idx):
        return ok
    seg = np.repeat(np.arange(n), counts)
    bad = (idx != np.rint(idx)) | (idx < 0) | (idx >= nverts[seg])
    voff = np.zeros(n, dtype=np.int64)
    voff[1:] = np.cumsum(nverts)[:-1]
    g = idx + voff[seg]
    running = np.maximum.accumulate(g)
    previous = np.concatenate([[-1.0], running[:-1]])
    starts = np.zeros(n, dtype=np.int64)
    starts[1:] = np.cumsum(counts)[:-1]
    first = np.zeros(len(idx), dtype=bool)
    first[starts[counts > 0]] = True
    bad |= np.where(first, idx != 0, g > previous + 1)
    ok[np.unique(seg[bad])] = False
    having = np.flatnonzero(counts > 0)
    top = np.maximum.reduceat(idx, starts[having])
    ok[having[top != nverts[having] - 1]] = False
    return ok


def declared_crs(parser: CityJSONParser, doc: JSONDict, user_crs: str | None) -> str | None:
    metadata = doc.get("metadata")
    declared = metadata.get("referenceSystem") if isinstance(metadata, dict) else None
    try:
        file_crs = parse_crs(str(declared)) if declared else None
        given = parse_crs(user_crs) if user_crs else None
    except InvalidInput as exc:
        raise parser.error(exc.message) from None
    if file_crs and given and file_crs != given:
        raise parser.error(f"the file declares {file_crs} but --crs says {given}")
    return file_crs or given
