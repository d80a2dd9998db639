"""Every error is RFC 9457 problem details, with the platform's ``code`` and ``message`` kept
as extension members (issue 18, seam 4)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response

from tests.api.conftest import as_

PROBLEM = "application/problem+json"


def _problem(response: Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["detail"] == body["message"] and body["detail"]
    assert isinstance(body["type"], str) and isinstance(body["title"], str)
    return dict(body)


def test_a_platform_error(client: TestClient, platform: dict[str, str]) -> None:
    body = _problem(
        client.get("/ogc/nowhere/collections", headers=as_(platform, "viewer@delft.nl")),
        404,
        "not-found",
    )
    assert body["type"] == "about:blank" and body["title"] == "Not Found"
    assert body["instance"] == "/ogc/nowhere/collections"


def test_an_invalid_request_names_the_parameter(client: TestClient) -> None:
    body = _problem(client.get("/store/search?limit=0"), 400, "invalid-request")
    assert "limit" in str(body["detail"])


def test_an_unknown_route_and_a_wrong_method(client: TestClient) -> None:
    _problem(client.get("/no/such/route"), 404, "not-found")
    wrong = client.delete("/store/search")
    _problem(wrong, 405, "method-not-allowed")


def test_unauthenticated_keeps_www_authenticate(client: TestClient) -> None:
    response = client.get("/twins", headers={"Authorization": "Bearer not-a-token"})
    _problem(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"
