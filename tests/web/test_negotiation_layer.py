"""The negotiation layer on its own: which renderer a request gets for a kind of resource.

The expectations are the former handlers' rules: for a page of features, CityJSON where the
client prefers it over GeoJSON, JSON and HTML (``application/city+json`` before
``text/html`` on a tie), else HTML where it prefers that over our JSON forms, else the
JSON form; for anything else, HTML or JSON only."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from tweeling.errors import NotAcceptable
from tweeling.web.negotiation import Negotiation, Resource


def _request(query: str = "", accept: str | None = None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": query.encode()}
    return Request({**scope, "headers": headers})


@pytest.fixture(scope="module")
def negotiation() -> Negotiation:
    return Negotiation.from_registry()


def _chosen(negotiation: Negotiation, kind: str, query: str = "", accept: str | None = None) -> str:
    return negotiation.renderer_for(_request(query, accept), kind).formats[0]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "json"),
        ("*/*", "json"),
        ("application/city+json", "cityjson"),
        ("application/city+json, text/html", "cityjson"),
        ("text/html, application/city+json;q=0.9", "html"),
        ("application/geo+json, application/city+json;q=0.5", "json"),
        ("application/city+json;q=0, */*", "json"),
        ("text/csv", "json"),  # nothing offered matches: the JSON form
        ("text/*", "html"),
    ],
)
def test_a_page_of_features(negotiation: Negotiation, accept: str | None, expected: str) -> None:
    assert _chosen(negotiation, "feature-collection", accept=accept) == expected


def test_a_kind_without_cityjson_answers_city_json_with_json(negotiation: Negotiation) -> None:
    accept = "application/city+json, text/html"
    assert _chosen(negotiation, "store-search", accept=accept) == "json"
    assert _chosen(negotiation, "store-search", accept="text/html") == "html"


def test_f_wins_and_falls_back_to_json(negotiation: Negotiation) -> None:
    assert _chosen(negotiation, "feature", "f=cityjson", "text/html") == "cityjson"
    assert _chosen(negotiation, "feature", "f=geojson", "text/html") == "json"
    # A format offered elsewhere but not for this kind: the JSON form, as before.
    assert _chosen(negotiation, "twin-landing", "f=cityjson") == "json"
    # A kind with no page at all: f=html gives JSON.
    assert _chosen(negotiation, "collection", "f=html") == "json"


def test_an_unknown_format_is_refused_with_the_offered_ones(negotiation: Negotiation) -> None:
    with pytest.raises(NotAcceptable, match=r"'xml' is not offered here; use f=json, f=geojson"):
        negotiation.check_format(_request("f=xml"))
    negotiation.check_format(_request("f=html"))  # offered: no error


def test_the_json_form_keeps_its_media_type_and_headers(negotiation: Negotiation) -> None:
    resource = Resource("feature", b'{"id":"a"}', "application/geo+json", {"Content-Crs": "<x>"})
    response = negotiation.respond(_request(), resource)
    assert response.media_type == "application/geo+json"
    assert response.headers["Content-Crs"] == "<x>" and response.body == b'{"id":"a"}'
