"""Content negotiation by RFC 9110 (section 12.5.1): quality values, specificity, wildcards.

The Accept headers are RFC 9110's own examples and the headers browsers and HTTP clients
send; what each should get is read off the RFC's rules for HTML against our JSON forms, not
off our code. The answer is judged by the Content-Type the server sends."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import as_

HTML, JSON = "html", "json"

# (Accept header, what the response must be)
CASES = [
    # No Accept header: "the user agent will accept any media type" (12.5.1); JSON is ours.
    (None, JSON),
    ("*/*", JSON),
    # The defect: HTML weighted 0 is "not acceptable", whatever the wildcard says.
    ("text/html;q=0, */*", JSON),
    ("text/html; q=0.0, */*;q=0.1", JSON),
    ("*/*, text/html;q=0", JSON),  # order in the header carries no meaning
    # RFC 7231's example (5.3.2): text/html;q=0.7 against */*;q=0.5 for everything else.
    ("text/*;q=0.3, text/html;q=0.7, text/html;level=1, text/html;level=2;q=0.4, */*;q=0.5", HTML),
    # RFC 9110's version of it (12.5.1): HTML only through text/*;q=0.3, JSON through 0.5.
    (
        "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
        "text/plain;format=fixed;q=0.4, */*;q=0.5",
        JSON,
    ),
    # RFC 9110's "text/plain; q=0.5, text/html, text/x-dvi; q=0.8, text/x-c".
    ("text/plain; q=0.5, text/html, text/x-dvi; q=0.8, text/x-c", HTML),
    # Only a parameterised HTML range: it does not name plain text/html (12.5.1).
    ("text/html;level=1", JSON),
    # A browser.
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML),
    ("TEXT/HTML", HTML),  # media types are case-insensitive (8.3.1)
    ("text/*", HTML),
    # Weights decide, not the order of the header.
    ("text/html;q=0.5, application/json", JSON),
    ("application/json;q=0.5, text/html", HTML),
    ("application/geo+json, text/html;q=0.9", JSON),
    ("application/json;q=0, text/*", HTML),
    # Equal weights: a type the client named beats one it reached through a wildcard.
    ("text/html, */*", HTML),
    ("application/json, text/*", JSON),
    # A malformed weight makes that range unusable, not weight 1 (qvalue grammar, 12.4.2).
    ("text/html;q=2, application/json;q=0.1", JSON),
    ("text/html;q=0.0001, application/json;q=0.1", JSON),
]


def _kind(content_type: str) -> str:
    return HTML if content_type.startswith("text/html") else JSON


def _check(client: TestClient, path: str, headers: dict[str, str], accept: str | None,
           expected: str) -> None:  # fmt: skip
    if accept is not None:
        headers = {**headers, "Accept": accept}
    r = client.get(path, headers=headers)
    assert r.status_code == 200, (path, accept, r.text)
    assert _kind(r.headers["content-type"]) == expected, (path, accept, r.headers["content-type"])


@pytest.mark.parametrize("path", ["/", "/ogc/delft", "/store/search"])
def test_accept_headers_by_the_rfc(client: TestClient, platform: dict[str, str], path: str) -> None:
    headers = as_(platform, "viewer@delft.nl")
    for accept, expected in CASES:
        _check(client, path, headers, accept, expected)


@pytest.mark.parametrize("path", ["/", "/ogc/delft", "/store/search"])
def test_the_f_parameter_wins_over_accept(
    client: TestClient, platform: dict[str, str], path: str
) -> None:
    headers = as_(platform, "viewer@delft.nl")
    _check(client, f"{path}?f=html", headers, "application/json", HTML)
    _check(client, f"{path}?f=json", headers, "text/html", JSON)
    _check(client, f"{path}?f=json", headers, "text/html;q=0, */*", JSON)


@pytest.mark.parametrize(
    ("accept", "cityjson"),
    [
        ("application/city+json", True),
        ("application/city+json;q=0, */*", False),
        ("application/geo+json, application/city+json;q=0.5", False),
        ("application/city+json, application/geo+json;q=0.5", True),
    ],
)
def test_items_give_cityjson_only_where_preferred(
    client: TestClient, platform: dict[str, str], accept: str, cityjson: bool
) -> None:
    response = client.get(
        "/ogc/delft/collections/buildings/items?limit=1",
        headers={**as_(platform, "viewer@delft.nl"), "Accept": accept},
    )
    assert response.status_code == 200, response.text
    media = response.headers["content-type"].split(";")[0]
    assert (media == "application/city+json") is cityjson, (accept, media)
