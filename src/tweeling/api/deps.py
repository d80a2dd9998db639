"""FastAPI dependencies: the database and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from tweeling.access.identity import Organisation, OrgKind, Principal, authenticate_token
from tweeling.errors import Unauthenticated
from tweeling.storage.db import Database

ANONYMOUS = Principal(
    user_id=0,
    email="anonymous",
    org=Organisation(id=0, name="anonymous", kind=OrgKind.other, mfa_required=False),
    roles=frozenset(),
)


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def principal(
    db: Annotated[Database, Depends(database)],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller from ``Authorization: Bearer <token>``; anonymous without that header."""
    if authorization is None:
        return ANONYMOUS
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'")
    with db.begin() as conn:
        return authenticate_token(conn, token.strip())


def signed_in(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if caller is ANONYMOUS:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    return caller


DB = Annotated[Database, Depends(database)]
Caller = Annotated[Principal, Depends(principal)]
SignedIn = Annotated[Principal, Depends(signed_in)]
