"""FastAPI dependencies: the database and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool

from tweeling.access.identity import (
    Organisation,
    OrgKind,
    Principal,
    authenticate_token,
    token_touch_due,
    touch_token,
)
from tweeling.access.sessions import SessionCaller, authenticate_session, csrf_ok
from tweeling.errors import Forbidden, Unauthenticated
from tweeling.storage.db import Database

SESSION_COOKIE = "tweeling_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ANONYMOUS = Principal(
    user_id=0,
    email="anonymous",
    org=Organisation(id=0, name="anonymous", kind=OrgKind.other, mfa_required=False),
    roles=frozenset(),
)


# Dependencies that do no blocking work are ``async``: FastAPI runs a plain ``def``
# dependency in a worker thread, and each such hand-over costs more than the work here.


async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


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
    if caller.principal.second_factor_pending and not request.url.path.startswith("/auth/"):
        raise Forbidden(
            f"{caller.principal.org.name} requires two-step verification: set it up via "
            "POST /auth/totp and /auth/totp/confirm first"
        )
    request.state.session_caller = caller
    return caller.principal


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
