"""Signing in through an external OpenID Connect provider running on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.api.live import live_server
from tests.api.oidc_provider import ProviderState, new_key, provider_app
from tweeling.access import identity
from tweeling.access.oidc import OIDCSettings
from tweeling.api.app import create_app
from tweeling.storage.db import Database


@dataclass
class Setup:
    client: TestClient
    provider: ProviderState


@pytest.fixture
def setup(db: Database) -> Iterator[Setup]:
    with db.begin() as conn:
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
        identity.add_member(conn, "anna@delft.nl", "Gemeente Delft", "analyst", actor="t")
    state = ProviderState()
    with live_server(provider_app(state)) as issuer:
        state.issuer = issuer
        settings = OIDCSettings(
            issuer=issuer, client_id=state.client_id, client_secret=state.client_secret
        )
        with TestClient(create_app(db, cookie_secure=False, oidc_settings=settings)) as client:
            yield Setup(client, state)


def _sign_in(setup: Setup) -> httpx2.Response:
    start = setup.client.get("/auth/oidc/login", follow_redirects=False)
    assert start.status_code == 302, start.text
    at_provider = httpx2.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    back = httpx2.URL(at_provider.headers["location"])
    return setup.client.get(f"{back.path}?{back.query.decode()}")


def test_sign_in_through_the_provider(setup: Setup) -> None:
    setup.provider.user = {
        "sub": "u-1",
        "email": "Anna@Delft.nl",
        "email_verified": True,
        "amr": ["pwd", "otp"],
    }
    r = _sign_in(setup)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "anna@delft.nl"
    assert r.json()["organisation"] == "Gemeente Delft"
    assert setup.client.get("/twins").status_code == 200


def test_unknown_or_unverified_people_are_refused(setup: Setup) -> None:
    setup.provider.user = {"sub": "u-2", "email": "stranger@example.nl", "email_verified": True}
    r = _sign_in(setup)
    assert r.status_code == 401 and "no account" in r.json()["message"]
    setup.provider.user = {"sub": "u-1", "email": "anna@delft.nl", "email_verified": False}
    assert _sign_in(setup).status_code == 401


def test_forged_nonce_and_replayed_state_are_refused(setup: Setup) -> None:
    setup.provider.user = {"sub": "u-1", "email": "anna@delft.nl", "email_verified": True}
    setup.provider.tamper_nonce = True
    r = _sign_in(setup)
    assert r.status_code == 401 and "not valid" in r.json()["message"]
    setup.provider.tamper_nonce = False
    start = setup.client.get("/auth/oidc/login", follow_redirects=False)
    back = httpx2.URL(
        httpx2.get(start.headers["location"], follow_redirects=False).headers["location"]
    )
    assert setup.client.get(f"{back.path}?{back.query.decode()}").status_code == 200
    # the same state (and code) once more: refused
    assert setup.client.get(f"{back.path}?{back.query.decode()}").status_code == 401


ANNA = {"sub": "u-1", "email": "anna@delft.nl", "email_verified": True}


def test_the_code_exchange_uses_pkce_s256(setup: Setup) -> None:
    """RFC 7636: the authorisation request carries an S256 challenge, and the token request
    a verifier whose SHA-256 the provider (not our code) finds equal to it."""
    setup.provider.user = ANNA
    assert _sign_in(setup).status_code == 200
    assert setup.provider.verified == 1
    ((method, challenge),) = setup.provider.challenges
    assert method == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge)  # a base64url SHA-256, unpadded
    start = setup.client.get("/auth/oidc/login", follow_redirects=False)
    second = httpx2.URL(start.headers["location"]).params["code_challenge"]
    assert second != challenge  # a fresh verifier for every sign-in


def test_sign_in_survives_the_provider_rotating_its_keys(setup: Setup) -> None:
    setup.provider.user = ANNA
    assert _sign_in(setup).status_code == 200
    assert setup.provider.jwks_reads == 1
    setup.provider.rotate("k2")  # the provider's next ID tokens are signed with a new key
    r = _sign_in(setup)
    assert r.status_code == 200, r.text  # no restart needed
    assert setup.provider.jwks_reads == 2
    assert _sign_in(setup).status_code == 200
    assert setup.provider.jwks_reads == 2  # a key it holds is not read again


def test_unknown_key_ids_reread_the_keys_at_most_once_a_minute(setup: Setup) -> None:
    setup.provider.user = ANNA
    assert _sign_in(setup).status_code == 200
    withdrawn = setup.provider.key
    setup.provider.rotate("k2")
    assert _sign_in(setup).status_code == 200
    assert setup.provider.jwks_reads == 2
    # A token signed with the withdrawn key, then with a key the provider never published:
    # refused, and neither makes us read the keys again within the minute.
    setup.provider.key = withdrawn
    r = _sign_in(setup)
    assert r.status_code == 401 and "not valid" in r.json()["message"]
    setup.provider.key = new_key("forged")
    assert _sign_in(setup).status_code == 401
    assert setup.provider.jwks_reads == 2
    # The provider rotates again within the minute: refused until the minute is over ...
    setup.provider.rotate("k3")
    assert _sign_in(setup).status_code == 401
    assert setup.provider.jwks_reads == 2
    keys = setup.client.app.state.oidc_provider.jwks  # type: ignore[attr-defined]
    started = keys.clock()
    keys.clock = lambda: started + 61  # ... which this clock says it is
    assert _sign_in(setup).status_code == 200
    assert setup.provider.jwks_reads == 3
