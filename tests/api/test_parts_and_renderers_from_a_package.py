"""A third party adds an OGC API part and a renderer from its own package (issue 18).

The package is really installed for the test (``tests.plugin_util``): its entry points in
``tweeling.api_parts`` and ``tweeling.renderers`` are found the way an installed
distribution's are, and the app built afterwards serves the part — its route answers, its
conformance class is in ``/conformance``, its link on the landing page — and answers a page
of features as CSV under ``f=csv`` and ``Accept: text/csv``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import as_
from tests.plugin_util import installed_package
from tweeling.api.app import create_app
from tweeling.api.parts import API_PARTS
from tweeling.storage.db import Database
from tweeling.web.negotiation import RENDERERS

TOY_CLASS = "http://example.org/spec/toy-sensors/1.0/conf/core"
TOY_REL = "http://example.org/rel/sensors"

TOY_PART = """
    from fastapi import APIRouter

    from tweeling.api.parts import TWIN, ApiPart, Link
    from tweeling.plugins import factory

    router = APIRouter(prefix="/ogc")


    @router.get("/{twin}/sensors", tags=["Toy sensors"])
    def sensors(twin: str) -> dict:
        return {"twin": twin, "sensors": ["rain gauge"]}


    @factory
    def part() -> ApiPart:
        return ApiPart(
            name="toy-sensors",
            router=router,
            landing=TWIN,
            conformance=("http://example.org/spec/toy-sensors/1.0/conf/core",),
            links=(Link("http://example.org/rel/sensors", "/sensors", "application/json", "Sensors"),),
            tags={"Toy sensors": "A toy part from a test package"},
        )
"""

TOY_RENDERER = """
    import csv
    import io

    from starlette.responses import Response


    class CsvRenderer:
        media_types = ("text/csv",)
        formats = ("csv",)

        def renders(self, kind):
            return kind == "feature-collection"

        def render(self, resource, request):
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["id", "type"])
            for feature in resource.json()["features"]:
                writer.writerow([feature["id"], feature["properties"].get("cityjson_type")])
            return Response(out.getvalue(), media_type="text/csv")
"""


@pytest.fixture
def toy_client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with installed_package(
        tmp_path / "site",
        "tweeling-toys",
        {"toy_sensors": TOY_PART, "toy_csv": TOY_RENDERER},
        {
            "tweeling.api_parts": {"toy-sensors": "toy_sensors:part"},
            "tweeling.renderers": {"csv": "toy_csv:CsvRenderer"},
        },
    ):
        API_PARTS.reload()
        RENDERERS.reload()
        try:
            with TestClient(create_app(db)) as client:
                yield client
        finally:
            API_PARTS.unregister("toy-sensors")
            RENDERERS.unregister("csv")
            API_PARTS.reload()
            RENDERERS.reload()


def test_a_toy_part_is_served(toy_client: TestClient, platform: dict[str, str]) -> None:
    headers = as_(platform, "viewer@delft.nl")
    answer = toy_client.get("/ogc/delft/sensors", headers=headers)
    assert answer.status_code == 200 and answer.json()["sensors"] == ["rain gauge"]

    classes = toy_client.get("/ogc/delft/conformance").json()["conformsTo"]
    assert TOY_CLASS in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes

    links = toy_client.get("/ogc/delft", headers=headers).json()["links"]
    toy = [link for link in links if link["rel"] == TOY_REL]
    assert toy == [
        {
            "rel": TOY_REL,
            "type": "application/json",
            "title": "Sensors",
            "href": "http://testserver/ogc/delft/sensors",
        }
    ]
    tags = {tag["name"] for tag in toy_client.get("/openapi.json").json()["tags"]}
    assert "Toy sensors" in tags


def _ids(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "type"]
    return [row[0] for row in rows[1:]]


def test_a_toy_renderer_answers_f_and_accept(
    toy_client: TestClient, platform: dict[str, str]
) -> None:
    headers = as_(platform, "viewer@delft.nl")
    items = "/ogc/delft/collections/buildings/items?limit=3"
    geojson = toy_client.get(items, headers=headers).json()
    expected = [feature["id"] for feature in geojson["features"]]
    assert len(expected) == 3

    by_f = toy_client.get(f"{items}&f=csv", headers=headers)
    assert by_f.status_code == 200 and by_f.headers["content-type"].startswith("text/csv")
    assert _ids(by_f.text) == expected

    by_accept = toy_client.get(items, headers={**headers, "Accept": "text/csv"})
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert _ids(by_accept.text) == expected

    # The platform's own forms are as before: a browser still gets HTML, a refusal of CSV
    # the GeoJSON, and a resource the renderer does not render its JSON form.
    browser = toy_client.get(items, headers={**headers, "Accept": "text/html,*/*;q=0.8"})
    assert browser.headers["content-type"].startswith("text/html")
    refused = toy_client.get(items, headers={**headers, "Accept": "text/csv;q=0, */*"})
    assert refused.headers["content-type"].startswith("application/geo+json")
    landing = toy_client.get("/ogc/delft?f=csv", headers=headers)
    assert landing.status_code == 200 and landing.headers["content-type"] == "application/json"


def test_without_the_package_csv_is_not_offered(
    client: TestClient, platform: dict[str, str]
) -> None:
    items = "/ogc/delft/collections/buildings/items?limit=1&f=csv"
    answer = client.get(items, headers=as_(platform, "viewer@delft.nl"))
    assert answer.status_code == 406
    assert answer.json()["code"] == "not-acceptable"
    assert "f=cityjson" in answer.json()["detail"]
