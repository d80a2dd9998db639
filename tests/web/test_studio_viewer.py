"""The twin viewer's page over the real app: what the objects can be coloured by (the data's
attributes and an app's stored outputs, with their units), the layer and scenario shown, and
the errors: an unknown twin, scenario or layer is a 404 page, an anonymous visitor of a
private twin is sent to sign in. One run of the footprints app (real, in the local executor)
gives the outputs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tweeling.access import identity
from tweeling.access.identity import local_operator
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import apps as apps_service
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def app_client(
    module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """Delft with a planner and a viewer, the footprints app installed and run once."""
    folder = tmp_path_factory.mktemp("viewer")
    with module_db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="test")
        for email, role in (("planner@delft.nl", "admin"), ("viewer@delft.nl", "viewer")):
            identity.add_member(
                conn, email, "Gemeente Delft", role, actor="test", password=PASSWORD
            )
        token = identity.create_token(
            conn, "planner@delft.nl", "Gemeente Delft", actor="test"
        ).secret
        delft = identity.get_organisation(conn, "Gemeente Delft").id
    ingest(module_db, samples / "delft.city.json", "delft", owner_org_id=delft)
    app = scaffold("footprints", folder)
    apps_service.install(
        module_db, local_operator("test"), "delft", packages.from_path(app), {"large_m2": 150}
    )
    executor = LocalExecutor(slots=1)
    runtime = Runtime(module_db, executor, folder / "home")
    try:
        with TestClient(create_app(module_db, runtime=runtime, cookie_secure=False)) as client:
            ran = client.post(
                "/ogc/delft/processes/footprints/execution",
                json={"inputs": {"purpose": "research"}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert ran.status_code == 200, ran.text
            yield client
    finally:
        executor.close()


@pytest.fixture
def signed_in(app_client: TestClient) -> Iterator[TestClient]:
    login = app_client.post("/auth/login", json={"email": "planner@delft.nl", "password": PASSWORD})
    assert login.status_code == 200, login.text
    yield app_client
    app_client.cookies.clear()


def _option(page: str, value: str) -> str:
    found = re.search(rf'<option value="{re.escape(value)}"[^>]*>', page)
    assert found, f"no option {value!r} to colour by"
    return found.group(0)


def test_the_viewer_offers_attributes_and_app_outputs_with_their_units(
    signed_in: TestClient,
) -> None:
    page = signed_in.get("/studio/twins/delft")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-layer="buildings"' in html and 'data-apps="footprints"' in html
    assert "Kleuren naar" in html  # Dutch is the default language
    height = _option(html, "measuredHeight")
    assert 'data-kind="number"' in height and 'data-unit="m"' in height
    footprint = _option(html, "footprints.footprint_m2")
    assert 'data-kind="number"' in footprint and 'data-unit="m2"' in footprint
    assert 'data-app="footprints"' in footprint
    assert 'data-kind="category"' in _option(html, "footprints.large")
    assert 'data-kind="category"' in _option(html, "cityjson_type")
    # the data's attributes come first, the apps' outputs in a group of their own
    assert html.index("measuredHeight") < html.index('label="Uitkomsten van apps"')
    assert '<option value="geometry"' not in html


def test_another_layer_has_its_own_attributes(signed_in: TestClient) -> None:
    page = signed_in.get("/studio/twins/delft", params={"layer": "bridges"})
    assert page.status_code == 200, page.text
    assert 'data-layer="bridges"' in page.text
    assert "footprints.footprint_m2" not in page.text  # the app writes on buildings only


@pytest.mark.parametrize(
    "path",
    [
        "/studio/twins/nowhere",
        "/studio/twins/delft?scenario=nothing",
        "/studio/twins/delft?layer=castles",
    ],
)
def test_unknown_twin_scenario_or_layer_is_a_404_page(signed_in: TestClient, path: str) -> None:
    page = signed_in.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


def test_a_viewer_sees_the_page(app_client: TestClient) -> None:
    login = app_client.post("/auth/login", json={"email": "viewer@delft.nl", "password": PASSWORD})
    assert login.status_code == 200, login.text
    try:
        page = app_client.get("/studio/twins/delft")
        assert page.status_code == 200
        assert 'id="colour-by"' in page.text
    finally:
        app_client.cookies.clear()


def test_anonymous_on_a_private_twin_is_sent_to_sign_in(app_client: TestClient) -> None:
    app_client.cookies.clear()
    page = app_client.get("/studio/twins/delft", follow_redirects=False)
    assert page.status_code in (302, 303, 307)
    assert page.headers["location"].startswith("/studio/sign-in?next=")
