"""A third party's importer, installed from its own package through the
``tweeling.importers`` entry point: it ingests a file of its own format, and its media type
is one an upload may carry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugin_util import installed_package
from tweeling.errors import InputFileError
from tweeling.storage.db import Database
from tweeling.twin import importers
from tweeling.twin.ingest import ingest
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import iter_objects, view_of

TOY_IMPORTER = '''
from pathlib import Path

from tweeling.twin.import_source import ImportSource
from tweeling.twin.model import CityObject


class PoleImporter:
    """A street-furniture list: one ``id x y height`` line per pole."""

    format = "poles"
    media_types = ("text/x-poles",)
    suffix = ".poles"

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".poles"

    def open(self, path: Path, crs: str | None) -> ImportSource:
        lines = path.read_text().split("\\n")
        poles = [
            CityObject(id=i, type="CityFurniture", attributes={"height": float(h)})
            for i, x, y, h in (line.split() for line in lines if line.strip())
        ]
        return ImportSource(path, self.format, "1", crs or "EPSG:7415", iter([poles]))
'''


@pytest.fixture
def toy_importer(tmp_path: Path) -> Iterator[None]:
    package = {"toy_poles": TOY_IMPORTER}
    entry = {"tweeling.importers": {"poles": "toy_poles:PoleImporter"}}
    with installed_package(tmp_path / "site", "toy-poles", package, entry):
        importers.IMPORTERS.reload()
        try:
            yield
        finally:
            importers.IMPORTERS.unregister("poles")
            importers.IMPORTERS.reload()


def test_a_toy_importer_from_a_package_ingests_its_format(
    db: Database, tmp_path: Path, toy_importer: None
) -> None:
    poles = tmp_path / "street.poles"
    poles.write_text("pole-1 85000 446000 4.5\npole-2 85010 446000 6.0\n")
    assert importers.importer_for(poles).format == "poles"
    report = ingest(db, poles, "poles-town")
    assert report.objects == 2
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "poles-town"), "current"))
        heights = {o.object_id: o.attributes["height"] for o in iter_objects(conn, view)}
    assert heights == {"pole-1": 4.5, "pole-2": 6.0}
    # an upload may now carry its media type, after the built-ins'
    assert importers.media_types()[-1] == "text/x-poles"
    assert importers.importer_for_media_type("text/x-poles") is importers.IMPORTERS.get("poles")


def test_without_the_package_the_format_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    poles = tmp_path / "street.poles"
    poles.write_text("pole-1 85000 446000 4.5\n")
    with pytest.raises(
        InputFileError, match="expected CityJSON, CityJSONSeq, GeoJSON or GeoPackage"
    ):
        importers.importer_for(poles)
    assert importers.importer_for_media_type("text/x-poles") is None
    assert importers.importer_for_media_type("application/city+json-seq") is (
        importers.IMPORTERS.get("cityjsonseq")
    )
