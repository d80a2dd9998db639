"""FastAPI dependencies: the database, who is calling, and from which address."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool

from tweeling import settings
from tweeling.access.identity import (
    ANONYMOUS,
    Principal,
    authenticate_token,
    token_touch_due,
    touch_token,
)
from tweeling.access.sessions import SessionCaller, authenticate_session, csrf_ok
from tweeling.errors import Forbidden, NotConfigured, Unauthenticated
from tweeling.services.platform import Database

SESSION_COOKIE = "tweeling_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where a session whose second factor is still to be set up may go, besides ``/auth/...``: the
# Studio's sign-in page and its enrolment page with the QR code it draws (exact paths only, so
# every other Studio page stays closed until the second factor is on).
SECOND_FACTOR_SETUP_PAGES = frozenset({"/studio/sign-in", "/studio/account", "/studio/account/qr"})


# Dependencies that do no blocking work are ``async``: FastAPI runs a plain ``def``
# dependency in a worker thread, and each such hand-over costs more than the work here.


async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_proxies(spec: str) -> tuple[Network, ...]:
    """The networks in ``TWEELING_TRUSTED_PROXIES`` (comma-separated addresses or CIDRs)."""
    networks = []
    for part in spec.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as exc:
                raise NotConfigured(f"TWEELING_TRUSTED_PROXIES: {part.strip()!r}: {exc}") from exc
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: Request) -> str:
    """The address the request came from.

    That is the connection's peer, unless the peer is one of the configured reverse proxies
    (``TWEELING_TRUSTED_PROXIES``, default none): then X-Forwarded-For is read from the right,
    skipping trusted proxies, and the first address that is not one is the client. A client
    that sends X-Forwarded-For itself, directly or through a proxy that appends to it, only
    adds entries left of the ones its proxies wrote, which are never reached.
    """
    peer = request.client.host if request.client else "unknown"
    proxies = trusted_proxies(settings.current().server.trusted_proxies)
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    address = peer
    for hop in reversed(hops):
        if not _trusted(address, proxies):
            break
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            break  # garbage in the header: the last proxy we trust is all we know
    return address


def session_caller(request: Request) -> SessionCaller | None:
    """The signed-in session behind this request, once ``principal`` has found it."""
    caller: SessionCaller | None = getattr(request.state, "session_caller", None)
    return caller


async def principal(
    request: Request,
    db: Annotated[Database, Depends(database)],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller: a bearer token, else a session cookie, else anonymous.

    A session (unlike a token) must echo its CSRF token on every state-changing request; a
    session whose organisation demands two-step verification that is not yet set up may only
    reach the set-up endpoints.
    """
    if authorization is None and SESSION_COOKIE not in request.cookies:
        return ANONYMOUS
    return await run_in_threadpool(_identified, request, db, authorization)


def _identified(request: Request, db: Database, authorization: str | None) -> Principal:
    """The token's or the session's principal (database work: run in a worker thread)."""
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use 'Authorization: Bearer <token>'")
        with db.read() as conn:
            found = authenticate_token(conn, token.strip(), touch=False)
            due = token_touch_due(conn, token.strip())
        if due:
            with db.begin() as conn:
                touch_token(conn, token.strip())
        return found
    session = request.cookies.get(SESSION_COOKIE)
    if session is None:
        return ANONYMOUS
    with db.read() as conn:
        caller = authenticate_session(conn, session)
    if request.method not in _SAFE_METHODS and not csrf_ok(
        caller.csrf_token, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden(f"missing or wrong {CSRF_HEADER} header for this signed-in request")
    if caller.principal.second_factor_pending and not _second_factor_setup(request.url.path):
        raise Forbidden(
            f"{caller.principal.org.name} requires two-step verification: set it up via "
            "POST /auth/totp and /auth/totp/confirm (in the Studio: /studio/account) first"
        )
    request.state.session_caller = caller
    return caller.principal


def _second_factor_setup(path: str) -> bool:
    return path.startswith("/auth/") or path in SECOND_FACTOR_SETUP_PAGES


async def signed_in(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if caller is ANONYMOUS:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    return caller


# Numeric ids in paths fit a 64-bit signed integer, as every database column for them does.
MAX_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

DB = Annotated[Database, Depends(database)]
Caller = Annotated[Principal, Depends(principal)]
SignedIn = Annotated[Principal, Depends(signed_in)]
