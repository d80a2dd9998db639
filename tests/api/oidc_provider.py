"""A small OpenID Connect provider for tests, served on loopback: discovery, authorize (it
signs in whoever the test says is at the keyboard), token (authorisation code → ID token
signed with its own RSA key) and JWKS. Written here with joserfc; no Tweeling code inside."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


@dataclass
class ProviderState:
    client_id: str = "tweeling"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    user: dict[str, Any] = field(default_factory=dict)  # who is signed in at the provider
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issuer: str = ""
    tamper_nonce: bool = False


def provider_app(state: ProviderState) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return {
            "issuer": state.issuer,
            "authorization_endpoint": f"{state.issuer}/authorize",
            "token_endpoint": f"{state.issuer}/token",
            "jwks_uri": f"{state.issuer}/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return KeySet([state.key]).as_dict(private=False)

    @app.get("/authorize")
    def authorize(request: Request) -> RedirectResponse:
        q = request.query_params
        if q.get("client_id") != state.client_id or q.get("response_type") != "code":
            raise HTTPException(400, "bad authorisation request")
        code = secrets.token_urlsafe(16)
        state.codes[code] = {"nonce": q.get("nonce"), "redirect_uri": q.get("redirect_uri")}
        target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state')})}"
        return RedirectResponse(target, status_code=302)

    @app.post("/token")
    def token(
        grant_type: str = Form(...),
        code: str = Form(...),
        redirect_uri: str = Form(...),
        authorization: str | None = Header(None),
    ) -> JSONResponse:
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = state.codes.pop(code, None)
        if (
            grant_type != "authorization_code"
            or grant is None
            or grant["redirect_uri"] != redirect_uri
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": state.issuer,
            "aud": state.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": "forged" if state.tamper_nonce else grant["nonce"],
            **state.user,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, state.key)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )

    return app
