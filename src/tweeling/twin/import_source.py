"""What every importer shares: the opened file (:class:`ImportSource`), the
:class:`Importer` protocol and the batch size.

It sits below the importers themselves (``cityjson_files``, ``vector_io``) and the registry
that lists them (``importers``), so each of those imports this module and none imports
another: the registry can register the built-ins at import time without a circle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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
    """Reads one file format. ``media_types`` are the Content-Types an upload of this format
    may carry (the first is its own) and ``suffix`` the file name ending an upload is
    spooled under, so that ``accepts`` recognises it by name as it would a local file."""

    format: str
    media_types: tuple[str, ...]
    suffix: str

    def accepts(self, path: Path, head: bytes) -> bool:
        """Whether this importer reads the file, judged by its name and first bytes."""

    def open(self, path: Path, crs: str | None) -> ImportSource:
        """Open the file; ``crs`` is the user's ``--crs`` (for files that declare none)."""
