"""The store front's pages, server-side: search with facets, the product page with a fit
report against a twin the visitor chooses, and the calibration form generated from the
parameters' JSON Schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.browser.conftest import PASSWORD, seed
from tests.web.store_stock import stock
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.web.studio.store import FormField, calibration_fields


@pytest.fixture(scope="module")
def client(
    module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    seed(module_db, samples)
    stock(module_db, tmp_path_factory.mktemp("apps"))
    with TestClient(create_app(module_db, cookie_secure=False, run_jobs=False)) as test_client:
        yield test_client


def signed_in(client: TestClient, email: str) -> TestClient:
    client.cookies.clear()
    answer = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def test_the_calibration_form_follows_the_schema() -> None:
    schema = {
        "type": "object",
        "required": ["mode"],
        "properties": {
            "efficiency": {"type": "number", "minimum": 0.05, "maximum": 0.5, "default": 0.2,
                           "description": "module efficiency"},
            "floors": {"type": "integer", "minimum": 1},
            "mode": {"type": "string", "enum": ["fast", "exact"], "default": "fast"},
            "facades": {"type": "boolean", "default": False, "title": "Include facades"},
            "note": {"type": "string"},
        },
    }  # fmt: skip
    assert calibration_fields(schema) == [
        FormField("efficiency", "module efficiency", "number", 0.2, 0.05, 0.5, "any"),
        FormField("floors", "floors", "number", None, 1, None, "1"),
        FormField("mode", "mode", "select", "fast", options=["fast", "exact"], required=True),
        FormField("facades", "Include facades", "checkbox", False),
        FormField("note", "note", "text"),
    ]
    assert calibration_fields({"type": "object"}) == []


def test_search_by_text_and_by_facet(client: TestClient) -> None:
    client.cookies.clear()
    page = client.get("/studio/store", params={"q": "trees"})
    assert page.status_code == 200
    assert "Tree Census" in page.text and "Footprints" not in page.text
    assert "1 app gevonden" in page.text  # Dutch by default
    everything = client.get("/studio/store", params={"use_case": "housing"}).text
    assert "Tree Census" in everything and "Footprints" in everything
    assert "2 apps gevonden" in everything
    assert 'href="/studio/store?q=&amp;use_case=housing"' in client.get("/studio/store").text
    assert 'aria-current="true">housing (2)' in everything  # the chosen facet, with a way out
    nothing = client.get("/studio/store", params={"q": "zzzqqq"}).text
    assert "Geen apps gevonden" in nothing


def test_the_fit_report_says_in_words_what_is_missing_and_the_fix(client: TestClient) -> None:
    signed_in(client, "planner@delft.nl")
    page = client.get("/studio/store/apps/tree-census", params={"twin": "delft"})
    assert page.status_code == 200
    assert 'data-verdict="red"' in page.text
    assert "niet voldaan" in page.text and "voldaan" in page.text  # status as text, not colour
    assert "Without trees it cannot count them." in page.text
    assert "import layer vegetation" in page.text
    green = client.get("/studio/store/apps/footprints", params={"twin": "delft"}).text
    assert 'data-verdict="green"' in green
    unknown = client.get("/studio/store/apps/footprints", params={"twin": "atlantis"})
    assert unknown.status_code == 200 and 'role="alert"' in unknown.text
    assert "atlantis" in unknown.text


def test_the_product_page_offers_installation_with_the_calibration(client: TestClient) -> None:
    signed_in(client, "planner@delft.nl")
    text = client.get("/studio/store/apps/footprints").text
    assert 'data-api="POST /store/apps/footprints%400.1.0/install"' in text
    assert (
        '<input id="param-large_m2" type="number" name="parameters.large_m2" step="any" '
        'min="0" value="500">'
    ) in text
    assert '<label for="param-large_m2">' in text
    assert 'data-colour="footprint_m2"' in text
    assert "First release." in text  # the changelog
    client.cookies.clear()
    anonymous = client.get("/studio/store/apps/footprints").text
    assert "install-form" not in anonymous and "/studio/sign-in?next=" in anonymous


def test_an_app_not_in_the_store_is_a_404_page(client: TestClient) -> None:
    client.cookies.clear()
    page = client.get("/studio/store/apps/no-such-app")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


def test_english_on_request_and_bad_input_is_a_4xx(client: TestClient) -> None:
    client.cookies.clear()
    client.cookies.set("tweeling_lang", "en")
    page = client.get("/studio/store", params={"use_case": "housing"})
    assert "2 apps found" in page.text and "Search apps" in page.text
    bad = client.get("/studio/store", params={"offset": "-1"})
    assert bad.status_code == 400 and "offset" in bad.text  # named, not a 500
    assert bad.headers["content-type"].startswith("text/html")
    client.cookies.clear()
