"""A small OpenID Connect provider for tests, served on loopback: discovery, authorize (it
signs in whoever the test says is at the keyboard), token (authorisation code → ID token
signed with its current RSA key) and JWKS. Like a strict provider it requires PKCE with S256
(RFC 7636) and checks the verifier itself; it can rotate its keys mid-test and counts how
often its JWKS is read. Written here with joserfc; no Tweeling code inside."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import Key, KeySet, RSAKey


@dataclass
class ProviderState:
    client_id: str = "tweeling"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    user: dict[str, Any] = field(default_factory=dict)  # who is signed in at the provider
    key: RSAKey = field(default_factory=lambda: new_key("k1"))  # signs ID tokens
    published: list[RSAKey] = field(default_factory=list)  # the JWKS (default: [key])
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issuer: str = ""
    tamper_nonce: bool = False
    jwks_reads: int = 0
    challenges: list[tuple[str, str]] = field(default_factory=list)  # (method, challenge)
    verified: int = 0  # token requests whose PKCE verifier matched

    def rotate(self, kid: str) -> None:
        """A new signing key replaces the old one in the JWKS (the old one is withdrawn)."""
        self.key = new_key(kid)
        self.published = [self.key]


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def s256(verifier: str) -> str:
    """RFC 7636, section 4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


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
            "code_challenge_methods_supported": ["S256"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        state.jwks_reads += 1
        keys: list[Key] = [*(state.published or [state.key])]
        return dict(KeySet(keys).as_dict(private=False))

    @app.get("/authorize")
    def authorize(request: Request) -> RedirectResponse:
        q = request.query_params
        if q.get("client_id") != state.client_id or q.get("response_type") != "code":
            raise HTTPException(400, "bad authorisation request")
        method, challenge = q.get("code_challenge_method", ""), q.get("code_challenge", "")
        state.challenges.append((method, challenge))
        if method != "S256" or not challenge:
            raise HTTPException(400, "PKCE with S256 is required")
        code = secrets.token_urlsafe(16)
        state.codes[code] = {
            "nonce": q.get("nonce"),
            "redirect_uri": q.get("redirect_uri"),
            "challenge": challenge,
        }
        target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state')})}"
        return RedirectResponse(target, status_code=302)

    @app.post("/token")
    def token(
        grant_type: str = Form(...),
        code: str = Form(...),
        redirect_uri: str = Form(...),
        code_verifier: str = Form(""),
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
            or s256(code_verifier) != grant["challenge"]
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        state.verified += 1
        now = int(time.time())
        claims = {
            "iss": state.issuer,
            "aud": state.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": "forged" if state.tamper_nonce else grant["nonce"],
            **state.user,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": state.key.kid}, claims, state.key)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )

    return app
