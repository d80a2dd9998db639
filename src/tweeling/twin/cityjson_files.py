"""The CityJSON importers: a CityJSON document, a CityJSONSeq stream, a lone CityJSONFeature.

Every valid form is read: CityJSON 1.0, 1.1 and 2.0 documents; CityJSONSeq with its CityJSON
header line, or (as the specification allows, "the transform and CRS known upfront") without
one; and one CityJSONFeature on its own. The document around the objects is checked here —
against the official 2.0 schema and the rules it cannot express — before any object is read;
each object is checked as it is parsed (``cityjson_in``).

A CityJSONFeature may not carry a ``transform`` (nor ``metadata``); without a header line its
vertices are therefore read as they stand, as coordinates in the CRS given with ``--crs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tweeling.errors import InputFileError
from tweeling.twin.cityjson_checks import (
    Context,
    SpecViolation,
    check_appearance,
    check_metadata,
    check_transform,
)
from tweeling.twin.cityjson_in import CityJSONParser, declared_crs, json_problem
from tweeling.twin.cityjson_schema import cityjson_schemas, schema_problem
from tweeling.twin.import_source import BATCH_SIZE, ImportSource
from tweeling.twin.model import CityObject, GeometryTemplate, JSONDict

SUPPORTED_VERSIONS = ("1.0", "1.1", "2.0")
FEATURE_VERSION = "2.0"  # a CityJSONFeature names no version; it is read by 2.0's rules
NO_TRANSFORM_NOTE = (
    "the CityJSONFeature objects came without a CityJSON header (which is where a transform "
    "lives): their vertices were read as coordinates in the CRS's units"
)


@dataclass
class Header:
    """What the CityJSON object around the city objects declares."""

    version: str
    crs: str | None
    templates: list[GeometryTemplate] = field(default_factory=list)
    metadata: JSONDict = field(default_factory=dict)
    extensions: JSONDict = field(default_factory=dict)


def read_header(parser: CityJSONParser, doc: Any, user_crs: str | None, where: str = "") -> Header:
    """Check a CityJSON object and set ``parser`` up to read its objects."""
    what = where.rstrip(": ") or "file"
    if not isinstance(doc, dict):
        raise parser.error(f"{what} is not a JSON object")
    if doc.get("type") != "CityJSON":
        raise parser.error(f"{what} is not CityJSON (type is {doc.get('type')!r})")
    version = str(doc.get("version", ""))
    if version not in SUPPORTED_VERSIONS:
        raise parser.error(
            f"unsupported CityJSON version {version!r} (supported: {', '.join(SUPPORTED_VERSIONS)})"
        )
    crs = declared_crs(parser, doc, user_crs)  # an unknown CRS is named before anything else
    try:
        check_metadata(doc.get("metadata"), version)
    except SpecViolation as exc:
        raise parser.violation(exc, where) from None
    if version == "2.0":
        problem = schema_problem(cityjson_schemas().document, doc)
        if problem:
            raise parser.error(f"{where}not valid CityJSON 2.0 at {problem}")
    try:
        check_transform(doc.get("transform"))
        materials, textures, uv = check_appearance(doc.get("appearance"))
    except SpecViolation as exc:
        raise parser.violation(exc, where) from None
    extensions = doc.get("extensions") or {}
    if not isinstance(extensions, dict):
        raise parser.error(f"{where}'extensions' must be an object")
    block = doc.get("geometry-templates")
    count = len(block.get("templates") or []) if isinstance(block, dict) else 0
    parser.transform = doc.get("transform")
    parser.context = Context(version, materials, textures, uv, count)
    try:
        templates = parser.read_templates(doc)
    except InputFileError as exc:
        raise parser.error(where + exc.problem) from None
    return Header(version, crs, templates, dict(doc.get("metadata") or {}), extensions)


def read_feature_header(parser: CityJSONParser, user_crs: str | None) -> Header:
    """Features with no CityJSON object before them: 2.0 rules, no transform, --crs."""
    parser.transform = None
    parser.context = Context(FEATURE_VERSION)
    parser.notes.append(NO_TRANSFORM_NOTE)
    return Header(FEATURE_VERSION, declared_crs(parser, {}, user_crs))


def _first_line_is_json(data: bytes) -> bool:
    first = data.split(b"\n", 1)[0]
    try:
        doc = orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and doc.get("type") in ("CityJSON", "CityJSONFeature")


class CityJSONImporter:
    """A CityJSON document (or one CityJSONFeature), read whole: its objects share vertices."""

    format = "cityjson"
    media_types: tuple[str, ...] = ("application/city+json",)
    suffix = ".city.json"

    def accepts(self, path: Path, head: bytes) -> bool:
        # The "type" member may come after megabytes of CityObjects: judge by name and shape;
        # reading the file then says precisely what is wrong if it is not CityJSON after all.
        return path.name.lower().endswith(".json") and head.lstrip().startswith(b"{")

    def open(self, path: Path, crs: str | None) -> ImportSource:
        parser = CityJSONParser(path)
        data = path.read_bytes()
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if _first_line_is_json(data):  # a CityJSONSeq with a long first line
                return CityJSONSeqImporter().open(path, crs)
            raise parser.error(json_problem(exc, len(data))) from None
        if isinstance(doc, dict) and doc.get("type") == "CityJSONFeature":
            header = read_feature_header(parser, crs)
            parser.context = parser.feature_context(doc)
            objects = parser.objects(doc.get("CityObjects"), _vertices(parser, doc))
            kind = "cityjsonfeature"
        else:
            header = read_header(parser, doc, crs)
            vertices = _vertices(parser, doc)
            objects = parser.objects(doc.get("CityObjects"), vertices, complete=True)
            kind = self.format

        def batches() -> Iterator[list[CityObject]]:
            for i in range(0, len(objects), BATCH_SIZE):
                yield objects[i : i + BATCH_SIZE]

        return ImportSource(
            path=path,
            format=kind,
            version=header.version,
            crs=header.crs,
            batches=batches(),
            metadata=header.metadata,
            templates=header.templates,
            extensions=header.extensions,
            warnings=parser.warnings,
            bytes_read=lambda: len(data),
        )


def _vertices(parser: CityJSONParser, doc: JSONDict) -> list[Any]:
    vertices = doc.get("vertices")
    if not isinstance(vertices, list):
        raise parser.error("'vertices' is missing or not a list")
    return vertices


class CityJSONSeqImporter:
    """CityJSONSeq (CityJSON Text Sequence): streamed, memory bounded by one batch."""

    format = "cityjsonseq"
    media_types: tuple[str, ...] = ("application/city+json-seq",)
    suffix = ".city.jsonl"

    def accepts(self, path: Path, head: bytes) -> bool:
        name = path.name.lower()
        if name.endswith((".jsonl", ".cjseq", ".city.jsonl")):
            return True
        if not name.endswith(".json") or b"CityJSONFeature" not in head:
            return False
        # several lines, the first a JSON object of its own (not a pretty-printed document)
        first, newline, rest = head.partition(b"\n")
        return bool(newline and rest.strip()) and _first_line_is_json(first)

    def open(self, path: Path, crs: str | None) -> ImportSource:
        parser = CityJSONParser(path)
        handle = path.open("rb")
        first = handle.readline()
        position = [len(first)]
        pending: list[tuple[int, bytes]] = []
        try:
            try:
                doc = orjson.loads(first)
            except orjson.JSONDecodeError as exc:
                if first.strip() in (b"{", b"["):  # a pretty-printed document, not a sequence
                    handle.close()
                    return CityJSONImporter().open(path, crs)
                raise parser.error(f"line 1: {json_problem(exc, len(first))}") from None
            if isinstance(doc, dict) and doc.get("type") == "CityJSONFeature":
                header = read_feature_header(parser, crs)
                pending.append((1, first))
            else:
                header = read_header(parser, doc, crs, "line 1 (the header): ")
                if doc.get("CityObjects") or doc.get("vertices"):
                    raise parser.error(
                        "line 1 (the header): a CityJSONSeq header has empty 'CityObjects' "
                        "and 'vertices' — the objects come in the CityJSONFeature lines"
                    )
        except InputFileError:
            handle.close()
            raise

        def chunks() -> Iterator[list[tuple[int, bytes]]]:
            chunk: list[tuple[int, bytes]] = pending
            with handle:
                for lineno, line in enumerate(handle, start=2):
                    position[0] += len(line)
                    if line.strip():
                        chunk.append((lineno, line))
                    if len(chunk) >= BATCH_SIZE:
                        yield chunk
                        chunk = []
            if chunk:
                yield chunk

        def batches() -> Iterator[list[CityObject]]:
            for chunk in chunks():
                yield parser.lines(chunk)

        return ImportSource(
            path=path,
            format=self.format,
            version=header.version,
            crs=header.crs,
            batches=batches(),
            metadata=header.metadata,
            templates=header.templates,
            extensions=header.extensions,
            warnings=parser.warnings,
            bytes_read=lambda: position[0],
            line_chunks=chunks(),
            parse_lines=parser.lines,
        )
