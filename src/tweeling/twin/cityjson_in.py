"""Reading CityJSON 1.0/1.1/2.0 files and CityJSONSeq streams into city objects."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from tweeling.errors import InputFileError, InvalidInput
from tweeling.twin.crs import parse_crs
from tweeling.twin.geometry import BoundaryError, Vertex, localise, make_to_real
from tweeling.twin.importers import BATCH_SIZE, ImportSource
from tweeling.twin.model import CITYJSON_TYPES, CityObject, GeometryTemplate, JSONDict

SUPPORTED_VERSIONS = ("1.0", "1.1", "2.0")
_OWN_MEMBERS = frozenset(
    {"type", "attributes", "geometry", "parents", "children", "geographicalExtent"}
)
_APPEARANCE_MEMBERS = ("material", "texture")


class _Reader:
    """Shared per-file state: where we are (for messages), templates, warnings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.templates: dict[int, str] = {}
        self.dropped_appearance = 0

    def error(self, problem: str, object_id: str | None = None) -> InputFileError:
        return InputFileError(self.path, problem, object_id)

    def check_header(self, doc: Any, what: str = "file") -> str:
        if not isinstance(doc, dict):
            raise self.error(f"{what} is not a JSON object")
        if doc.get("type") != "CityJSON":
            raise self.error(f"{what} is not CityJSON (type is {doc.get('type')!r})")
        version = str(doc.get("version", ""))
        if version not in SUPPORTED_VERSIONS:
            raise self.error(
                f"unsupported CityJSON version {version!r} "
                f"(supported: {', '.join(SUPPORTED_VERSIONS)})"
            )
        return version

    def crs(self, doc: JSONDict, user_crs: str | None) -> str | None:
        declared = (doc.get("metadata") or {}).get("referenceSystem")
        try:
            file_crs = parse_crs(str(declared)) if declared else None
            given = parse_crs(user_crs) if user_crs else None
        except InvalidInput as exc:
            raise self.error(exc.message) from None
        if file_crs and given and file_crs != given:
            raise self.error(f"the file declares {file_crs} but --crs says {given}")
        return file_crs or given

    def read_templates(self, doc: JSONDict) -> list[GeometryTemplate]:
        block = doc.get("geometry-templates")
        if not block:
            return []
        verts = block.get("vertices-templates") or []
        out = []
        for i, tpl in enumerate(block.get("templates") or []):
            try:
                (geom,), local = localise([_normalise_lod(tpl)], verts, make_to_real(None))
            except BoundaryError as exc:
                raise self.error(f"geometry template {i}: {exc}") from None
            key = hashlib.sha256(orjson.dumps([geom, local], option=orjson.OPT_SORT_KEYS))
            template = GeometryTemplate(key.hexdigest(), geom, local)
            self.templates[i] = template.key
            out.append(template)
        return out

    def objects(
        self,
        city_objects: Any,
        vertices: Sequence[Sequence[float]],
        to_real: Callable[[Sequence[float]], Vertex],
    ) -> list[CityObject]:
        if not isinstance(city_objects, dict):
            raise self.error("'CityObjects' is missing or not an object")
        out = []
        for oid, raw in city_objects.items():
            out.append(self.city_object(oid, raw, vertices, to_real))
        return out

    def city_object(
        self,
        oid: str,
        raw: Any,
        vertices: Sequence[Sequence[float]],
        to_real: Callable[[Sequence[float]], Vertex],
    ) -> CityObject:
        if not isinstance(raw, dict):
            raise self.error("city object is not a JSON object", oid)
        otype = raw.get("type")
        if otype is None:
            raise self.error("missing 'type'", oid)
        if not isinstance(otype, str) or (
            otype not in CITYJSON_TYPES and not otype.startswith("+")
        ):
            raise self.error(f"unknown city object type {otype!r}", oid)
        attributes = raw.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise self.error("'attributes' is not an object", oid)
        geometries = raw.get("geometry") or []
        if not isinstance(geometries, list):
            raise self.error("'geometry' is not a list", oid)
        prepared = [self.prepare_geometry(g, oid) for g in geometries]
        try:
            geometry, local = localise(prepared, vertices, to_real)
        except BoundaryError as exc:
            raise self.error(str(exc), oid) from None
        except (TypeError, IndexError, ValueError) as exc:
            raise self.error(f"bad vertex: {exc}", oid) from None
        return CityObject(
            id=oid,
            type=otype,
            attributes=attributes,
            geometry=geometry,
            vertices=local,
            parents=list(raw.get("parents") or []),
            children=list(raw.get("children") or []),
            extra={k: v for k, v in raw.items() if k not in _OWN_MEMBERS},
        )

    def prepare_geometry(self, raw: Any, oid: str) -> JSONDict:
        if not isinstance(raw, dict):
            raise self.error("geometry is not a JSON object", oid)
        geom = _normalise_lod(raw)
        if any(k in geom for k in _APPEARANCE_MEMBERS):
            self.dropped_appearance += 1
            geom = {k: v for k, v in geom.items() if k not in _APPEARANCE_MEMBERS}
        if geom.get("type") == "GeometryInstance":
            key = self.templates.get(geom.get("template", -1))
            if key is None:
                raise self.error(f"geometry template {geom.get('template')!r} does not exist", oid)
            geom = {**geom, "template": key}
        return geom

    def warnings(self) -> list[str]:
        if self.dropped_appearance:
            return [
                f"appearance (materials/textures) of {self.dropped_appearance} geometries "
                "is not kept: Tweeling stores geometry, semantics and attributes"
            ]
        return []


def _normalise_lod(geom: JSONDict) -> JSONDict:
    lod = geom.get("lod")
    if lod is not None and not isinstance(lod, str):
        return {**geom, "lod": f"{lod:g}" if isinstance(lod, float) else str(lod)}
    return geom


def _json_problem(exc: orjson.JSONDecodeError, size: int) -> str:
    if exc.pos >= size - 1 or "EOF" in exc.msg or "end of" in exc.msg.lower():
        return f"truncated file: the JSON ends unexpectedly (line {exc.lineno})"
    return f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"


class CityJSONImporter:
    """A plain CityJSON file, read whole (its objects share one vertex list)."""

    format = "cityjson"

    def accepts(self, path: Path, head: bytes) -> bool:
        # The "type" member may come after megabytes of CityObjects: judge by name and shape;
        # reading the file then says precisely what is wrong if it is not CityJSON after all.
        return path.name.lower().endswith(".json") and head.lstrip().startswith(b"{")

    def open(self, path: Path, crs: str | None) -> ImportSource:
        reader = _Reader(path)
        data = path.read_bytes()
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise reader.error(_json_problem(exc, len(data))) from None
        version = reader.check_header(doc)
        vertices = doc.get("vertices")
        if not isinstance(vertices, list):
            raise reader.error("'vertices' is missing or not a list")
        templates = reader.read_templates(doc)
        objects = reader.objects(
            doc.get("CityObjects"), vertices, make_to_real(doc.get("transform"))
        )

        def batches() -> Iterator[list[CityObject]]:
            for i in range(0, len(objects), BATCH_SIZE):
                yield objects[i : i + BATCH_SIZE]

        meta = dict(doc.get("metadata") or {})
        return ImportSource(
            path=path,
            format=self.format,
            version=version,
            crs=reader.crs(doc, crs),
            batches=batches(),
            metadata=meta,
            templates=templates,
            extensions=doc.get("extensions") or {},
            warnings=reader.warnings(),
            bytes_read=lambda: len(data),
        )


class CityJSONSeqImporter:
    """CityJSONSeq (CityJSON Text Sequence): streamed, memory bounded by one batch."""

    format = "cityjsonseq"

    def accepts(self, path: Path, head: bytes) -> bool:
        name = path.name.lower()
        if name.endswith((".jsonl", ".cjseq", ".city.jsonl")):
            return True
        return name.endswith(".json") and b"CityJSONFeature" in head and b"\n" in head.strip()

    def open(self, path: Path, crs: str | None) -> ImportSource:
        reader = _Reader(path)
        handle = path.open("rb")
        first = handle.readline()
        position = [len(first)]
        try:
            header = orjson.loads(first)
        except orjson.JSONDecodeError as exc:
            handle.close()
            raise reader.error(f"line 1: {_json_problem(exc, len(first))}") from None
        try:
            version = reader.check_header(header, "line 1 (the header)")
            templates = reader.read_templates(header)
            declared_crs = reader.crs(header, crs)
        except InputFileError:
            handle.close()
            raise
        to_real = make_to_real(header.get("transform"))

        def batches() -> Iterator[list[CityObject]]:
            batch: list[CityObject] = []
            with handle:
                for lineno, line in enumerate(handle, start=2):
                    position[0] += len(line)
                    if not line.strip():
                        continue
                    batch.extend(self._feature(reader, line, lineno, to_real))
                    if len(batch) >= BATCH_SIZE:
                        yield batch
                        batch = []
            if batch:
                yield batch

        return ImportSource(
            path=path,
            format=self.format,
            version=version,
            crs=declared_crs,
            batches=batches(),
            metadata=dict(header.get("metadata") or {}),
            templates=templates,
            extensions=header.get("extensions") or {},
            warnings=reader.warnings(),
            bytes_read=lambda: position[0],
        )

    @staticmethod
    def _feature(
        reader: _Reader, line: bytes, lineno: int, to_real: Callable[[Sequence[float]], Vertex]
    ) -> list[CityObject]:
        try:
            feature = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.endswith(b"\n"):
                raise reader.error(
                    f"line {lineno}: truncated file (last feature is cut off)"
                ) from None
            raise reader.error(f"line {lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(feature, dict) or feature.get("type") != "CityJSONFeature":
            kind = feature.get("type") if isinstance(feature, dict) else type(feature).__name__
            raise reader.error(f"line {lineno}: expected a CityJSONFeature, found {kind!r}")
        vertices = feature.get("vertices")
        if not isinstance(vertices, list):
            raise reader.error(
                f"line {lineno}: 'vertices' is missing or not a list", feature.get("id")
            )
        try:
            return reader.objects(feature.get("CityObjects"), vertices, to_real)
        except InputFileError as exc:
            raise InputFileError(
                reader.path, f"line {lineno}: {exc.problem}", exc.object_id
            ) from None
