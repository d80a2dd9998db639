"""Signing in through an external OpenID Connect identity provider (authorisation code flow).

Enabled by settings (``TWEELING_OIDC_ISSUER``, ``…_CLIENT_ID``, ``…_CLIENT_SECRET``). The
provider's ID token must be signed by a key from its JWKS, name our client as audience, carry
the nonce we sent and a verified e-mail address of a person already known to the platform —
the provider proves who someone is; memberships and roles stay ours. An ``amr`` claim that
names a second factor (otp, mfa, hwk, …) counts as two-step verification.

The code exchange is bound to the browser that started it by PKCE (RFC 7636, S256). The
provider's keys are read again when an ID token names a key id we do not hold (the provider
rotated its keys), at most once per ``jwks_refetch_s`` so that tokens with made-up key ids
cannot make us hammer the provider.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import insert, select, update

from tweeling.access.audit import AuditEvent, AuditOutcome, record
from tweeling.access.sessions import SignedIn, choose_organisation, open_session
from tweeling.errors import NotConfigured, NotEnabled, Unauthenticated
from tweeling.settings import OIDCSettings as OIDCSettings  # its old home; others import it here
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import oidc_logins, users

log = logging.getLogger(__name__)

PENDING_LIFETIME = timedelta(minutes=10)
_SECOND_FACTORS = frozenset({"otp", "mfa", "hwk", "swk", "sms", "fpt", "face", "iris"})


class SigningKeys:
    """The provider's JWKS as last read, read again for a key id it does not hold."""

    def __init__(
        self,
        jwks_uri: str,
        keys: KeySet,
        refetch_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_uri = jwks_uri
        self.refetch_s = refetch_s
        self.clock = clock
        self._keys = keys
        self._last_refetch: float | None = None
        self._lock = threading.Lock()

    def _holds(self, kid: str | None) -> bool:
        return kid is None or any(key.kid == kid for key in self._keys.keys)

    def for_kid(self, kid: str | None) -> KeySet:
        """The key set to check a token signed with ``kid`` against: as held, or read again
        when it lacks ``kid`` and the last re-read is ``refetch_s`` ago (or there was none)."""
        with self._lock:
            if self._holds(kid):
                return self._keys
            moment = self.clock()
            if self._last_refetch is not None and moment - self._last_refetch < self.refetch_s:
                return self._keys
            self._last_refetch = moment
            try:
                self._keys = _read_jwks(self.jwks_uri)
            except NotConfigured as exc:  # the token is refused; the next re-read may work
                log.warning("%s", exc)
            return self._keys


def _read_jwks(jwks_uri: str) -> KeySet:
    try:
        response = httpx.get(jwks_uri, timeout=10)
        response.raise_for_status()
        return KeySet.import_key_set(response.json())
    except (httpx.HTTPError, JoseError, KeyError, TypeError, ValueError) as exc:
        raise NotConfigured(
            f"cannot read the identity provider's keys at {jwks_uri}: {exc}"
        ) from None


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks: SigningKeys = field(compare=False)


def discover(settings: OIDCSettings) -> Provider:
    """Read the provider's metadata and signing keys (OpenID Connect Discovery)."""
    if not settings.enabled or settings.issuer is None:
        raise NotEnabled(
            "sign-in with an external identity provider is not enabled on this platform "
            "(TWEELING_OIDC_ISSUER)"
        )
    base = settings.issuer.rstrip("/")
    try:
        meta = httpx.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
        jwks_uri = str(meta["jwks_uri"])
        endpoints = str(meta["authorization_endpoint"]), str(meta["token_endpoint"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        raise NotConfigured(f"cannot read the identity provider at {base}: {exc}") from None
    if meta.get("issuer") != settings.issuer:
        raise NotConfigured(
            f"the provider says its issuer is {meta.get('issuer')!r}, not {settings.issuer!r}"
        )
    keys = SigningKeys(jwks_uri, _read_jwks(jwks_uri), settings.jwks_refetch_s)
    return Provider(meta["issuer"], *endpoints, keys)


def _client(settings: OIDCSettings, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scope=settings.scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def start(
    db: Database,
    settings: OIDCSettings,
    provider: Provider,
    redirect_uri: str,
    organisation: str | None = None,
) -> str:
    """The provider URL to send the browser to; remembers state and nonce for the callback."""
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # 64 characters, within RFC 7636's 43 to 128
    with db.begin() as conn:
        conn.execute(
            insert(oidc_logins).values(
                state_hash=hashlib.sha256(state.encode()).hexdigest(),
                nonce=nonce,
                code_verifier=verifier,
                organisation=organisation,
                created_at=clock_of(conn).now(),
            )
        )
    with _client(settings, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            provider.authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier
        )
    return str(url)


def finish(
    db: Database,
    settings: OIDCSettings,
    provider: Provider,
    redirect_uri: str,
    code: str,
    state: str,
) -> SignedIn:
    """Exchange the code, check the ID token, and open a session for the person it names."""
    failure = Unauthenticated("the sign-in with the identity provider could not be completed")
    with db.begin() as conn:
        pending = conn.execute(
            select(oidc_logins).where(
                oidc_logins.c.state_hash == hashlib.sha256(state.encode()).hexdigest()
            )
        ).first()
        if pending is None or pending.used_at is not None or not pending.code_verifier:
            raise failure  # unknown, used, or started before PKCE (no verifier to send)
        created = (
            pending.created_at
            if pending.created_at.tzinfo
            else pending.created_at.replace(tzinfo=clock_of(conn).now().tzinfo)
        )
        if created + PENDING_LIFETIME < clock_of(conn).now():
            raise failure
        conn.execute(
            update(oidc_logins)
            .where(oidc_logins.c.id == pending.id)
            .values(used_at=clock_of(conn).now())
        )
    with _client(settings, redirect_uri) as client:
        try:
            token = client.fetch_token(
                provider.token_endpoint, code=code, code_verifier=pending.code_verifier
            )
        except Exception as exc:  # authlib raises its own OAuth errors and httpx's
            raise Unauthenticated(f"the identity provider refused the code: {exc}") from None
    claims = _id_token_claims(settings, provider, token, pending.nonce)
    email = str(claims.get("email", "")).lower()
    if not email or claims.get("email_verified") is not True:
        raise Unauthenticated("the identity provider did not vouch for an e-mail address")
    second_factor = bool(_SECOND_FACTORS & set(claims.get("amr") or []))
    outcome: Exception | SignedIn
    with db.begin() as conn:
        user = conn.execute(select(users).where(users.c.email == email)).first()
        if user is None or user.disabled:
            record(
                conn,
                AuditEvent(
                    email,
                    "login",
                    outcome=AuditOutcome.failure,
                    detail={"method": "oidc", "why": "unknown person"},
                ),
            )
            outcome = Unauthenticated(
                f"{email} has no account on this platform; ask an administrator"
            )
        else:
            org = choose_organisation(conn, user.id, pending.organisation)
            outcome = (
                org
                if isinstance(org, Exception)
                else open_session(
                    conn, user.id, email, org, second_factor or bool(user.totp_enabled), "oidc"
                )
            )
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _id_token_claims(
    settings: OIDCSettings, provider: Provider, token: dict[str, Any], nonce: str
) -> dict[str, Any]:
    raw = token.get("id_token")
    if not raw:
        raise Unauthenticated("the identity provider sent no ID token")
    try:
        kid = jws.extract_compact(raw.encode()).headers().get("kid")
        keys = provider.jwks.for_kid(kid if isinstance(kid, str) else None)
        decoded = jwt.decode(raw, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": settings.client_id or ""},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise Unauthenticated(f"the identity provider's ID token is not valid: {exc}") from None
    return dict(decoded.claims)
