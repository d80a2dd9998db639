"""The importer extension point: how a file becomes a stream of city objects.

An importer recognises a file (by name and first bytes) and opens it as an
:class:`ImportSource`; it names the media types an upload of its format carries. The
built-in importers are registered here, in the order they are asked; other packages add
theirs through the ``tweeling.importers`` entry-point group, each entry naming an
:class:`Importer` class (asked after the built-ins).
"""

from __future__ import annotations

from pathlib import Path

from tweeling.errors import InputFileError
from tweeling.plugins import Registry
from tweeling.twin.cityjson_files import CityJSONImporter, CityJSONSeqImporter
from tweeling.twin.import_source import BATCH_SIZE, Importer, ImportSource
from tweeling.twin.vector_io import GeoJSONImporter, GeoPackageImporter

__all__ = [
    "BATCH_SIZE", "IMPORTERS", "ImportSource", "Importer", "all_importers", "builtin_importers",
    "importer_for", "importer_for_media_type", "media_types",
]  # fmt: skip


def _is_importer(item: object) -> bool:
    return all(callable(getattr(item, method, None)) for method in ("accepts", "open")) and (
        isinstance(getattr(item, "format", None), str)
    )


IMPORTERS: Registry[Importer] = Registry("tweeling.importers", "importer", _is_importer)


# Asked in this order: CityJSONSeq and GeoJSON before CityJSON, which takes any ``.json``
# that starts with ``{`` (and then says precisely what is wrong if it is not CityJSON).
def builtin_importers() -> list[Importer]:
    return [CityJSONSeqImporter(), GeoJSONImporter(), GeoPackageImporter(), CityJSONImporter()]


for _builtin in builtin_importers():
    IMPORTERS.register(_builtin.format, _builtin)


def all_importers() -> list[Importer]:
    """The built-ins, then those of installed packages."""
    return [importer for _, importer in IMPORTERS.items()]


# How people know the built-in formats, in the order messages name them; plug-ins follow.
_LABELS = {"cityjson": "CityJSON", "cityjsonseq": "CityJSONSeq", "geojson": "GeoJSON",
           "gpkg": "GeoPackage"}  # fmt: skip


def _in_known_order() -> list[Importer]:
    known = list(_LABELS)
    return sorted(
        all_importers(), key=lambda i: known.index(i.format) if i.format in known else len(known)
    )


def _expected() -> str:
    names = [_LABELS.get(importer.format, importer.format) for importer in _in_known_order()]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


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
    raise InputFileError(path, f"unrecognised format: expected {_expected()}")


def media_types() -> list[str]:
    """Every media type an upload may carry (the built-ins' first, as messages name them)."""
    return [t for importer in _in_known_order() for t in getattr(importer, "media_types", ())]


def importer_for_media_type(media_type: str) -> Importer | None:
    """The importer whose format an upload with this Content-Type is in (None: no one's)."""
    for importer in all_importers():
        if media_type in getattr(importer, "media_types", ()):
            return importer
    return None
