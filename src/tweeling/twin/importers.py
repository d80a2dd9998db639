"""The importer extension point: how a file becomes a stream of city objects.

An importer recognises a file (by name and first bytes) and opens it as an
:class:`ImportSource`. Built-in importers are listed here; other packages add theirs through
the ``tweeling.importers`` entry-point group, each entry naming an :class:`Importer` class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from tweeling.errors import InputFileError
from tweeling.twin.model import CityObject, GeometryTemplate, JSONDict

BATCH_SIZE = 2000


@dataclass
class ImportSource:
    """An opened input file. ``batches`` yields objects in the file's declared CRS."""

    path: Path
    format: str
    version: str
    crs: str | None
    batches: Iterator[list[CityObject]]
    metadata: JSONDict = field(default_factory=dict)
    templates: list[GeometryTemplate] = field(default_factory=list)
    extensions: JSONDict = field(default_factory=dict)
    warnings: Callable[[], list[str]] = list
    bytes_read: Callable[[], int] = lambda: 0
    # Optional parallel route (CityJSONSeq): raw line chunks plus a picklable parser for them,
    # so worker processes can parse while the database takes the rows. Use either this or
    # ``batches``, not both: they read the same file handle.
    line_chunks: Iterator[list[tuple[int, bytes]]] | None = None
    parse_lines: Callable[[list[tuple[int, bytes]]], list[CityObject]] | None = None


class Importer(Protocol):
    format: str

    def accepts(self, path: Path, head: bytes) -> bool:
        """Whether this importer reads the file, judged by its name and first bytes."""

    def open(self, path: Path, crs: str | None) -> ImportSource:
        """Open the file; ``crs`` is the user's ``--crs`` (for files that declare none)."""


def builtin_importers() -> list[Importer]:
    from tweeling.twin.cityjson_files import CityJSONImporter, CityJSONSeqImporter
    from tweeling.twin.vector_io import GeoJSONImporter, GeoPackageImporter

    return [CityJSONSeqImporter(), GeoJSONImporter(), GeoPackageImporter(), CityJSONImporter()]


def all_importers() -> list[Importer]:
    found: list[Importer] = builtin_importers()
    for ep in entry_points(group="tweeling.importers"):
        found.append(ep.load()())
    return found


def importer_for(path: Path) -> Importer:
    if not path.exists():
        raise InputFileError(path, "file not found")
    if not path.is_file():
        raise InputFileError(path, "not a file")
    with path.open("rb") as f:
        head = f.read(4096)
    if not head:
        raise InputFileError(path, "file is empty")
    for importer in all_importers():
        if importer.accepts(path, head):
            return importer
    raise InputFileError(
        path, "unrecognised format: expected CityJSON, CityJSONSeq, GeoJSON or GeoPackage"
    )
