"""A person's own account as the Studio shows it: who they are, where they are a member, whether
two-step verification is on, and (for an organisation's administrators) its API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tweeling.access import identity
from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind, Resource, authorize
from tweeling.errors import NotFound, Unauthenticated
from tweeling.storage.db import Database
from tweeling.storage.schema import api_tokens, memberships, organisations, users


@dataclass(frozen=True)
class Account:
    email: str
    organisation: str
    roles: list[str]
    memberships: list[dict[str, str]]  # every organisation and role the person holds
    two_step_verification: bool
    two_step_required: bool  # by the organisation acted for


@dataclass(frozen=True)
class TokenInfo:
    id: int
    email: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked: bool
    last_used_at: datetime | None


def account(db: Database, principal: Principal) -> Account:
    """The signed-in person's own account (nobody else's: no policy question to ask)."""
    if principal.anonymous or principal.user_id == 0:
        raise Unauthenticated("sign in first")
    with db.read() as conn:
        user = conn.execute(select(users).where(users.c.id == principal.user_id)).first()
        if user is None:
            raise NotFound(f"no account for {principal.email}")
        held = conn.execute(
            select(organisations.c.name, memberships.c.role)
            .join(memberships, memberships.c.org_id == organisations.c.id)
            .where(memberships.c.user_id == principal.user_id)
            .order_by(organisations.c.name, memberships.c.role)
        )
        member_of = [{"organisation": o, "role": r} for o, r in held]
    return Account(
        email=principal.email,
        organisation=principal.org.name,
        roles=sorted(r.value for r in principal.roles),
        memberships=member_of,
        two_step_verification=bool(user.totp_enabled),
        two_step_required=principal.org.mfa_required,
    )


def tokens(db: Database, principal: Principal, org_name: str) -> list[TokenInfo]:
    """The API tokens of ``org_name`` (its administrators'; never the secrets, which are kept
    only as digests)."""
    with db.read() as conn:
        org = identity.get_organisation(conn, org_name)
    authorize(
        db,
        principal,
        Action.read,
        Resource(Kind.token, f"organisation:{org_name}", owner_org_id=org.id),
    )
    with db.read() as conn:
        rows = conn.execute(
            select(api_tokens, users.c.email)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.org_id == org.id)
            .order_by(api_tokens.c.created_at.desc(), api_tokens.c.id.desc())
        )
        return [_token(row) for row in rows]


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        email=row.email,
        scopes=sorted(row.scopes or []),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
        last_used_at=row.last_used_at,
    )
