"""Organisations, their members and API tokens, managed by their admins (and the market master)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from tweeling.access import audit, identity
from tweeling.access.audit import AuditEvent, record
from tweeling.access.identity import IssuedToken, Organisation, Principal
from tweeling.access.policy import Action, Kind, Resource, authorize, decide
from tweeling.errors import NotFound
from tweeling.storage.db import Database
from tweeling.storage.schema import api_tokens, memberships, users


def _org(db: Database, principal: Principal, name: str, kind: Kind, action: Action) -> Organisation:
    with db.read() as conn:
        try:
            org = identity.get_organisation(conn, name)
        except NotFound:
            org = None
    resource = Resource(kind, f"organisation:{name}", owner_org_id=org.id if org else None)
    if org is None:
        raise NotFound(f"no organisation named {name!r}")
    authorize(db, principal, action, resource)
    return org


def visible_organisations(db: Database, principal: Principal) -> list[dict[str, Any]]:
    with db.read() as conn:
        orgs = identity.list_organisations(conn)
    return [
        {"name": o.name, "kind": o.kind.value, "mfa_required": o.mfa_required}
        for o in orgs
        if decide(
            principal,
            Action.read,
            Resource(Kind.organisation, f"organisation:{o.name}", owner_org_id=o.id),
        ).allowed
    ]


def create_organisation(
    db: Database, principal: Principal, name: str, kind: str, mfa_required: bool
) -> Organisation:
    authorize(
        db,
        principal,
        Action.create,
        Resource(Kind.organisation, f"organisation:{name}", owner_org_id=None),
    )
    with db.begin() as conn:
        return identity.create_organisation(
            conn, name, kind, actor=principal.actor, mfa_required=mfa_required
        )


def members(db: Database, principal: Principal, org_name: str) -> list[dict[str, str]]:
    org = _org(db, principal, org_name, Kind.membership, Action.read)
    with db.read() as conn:
        rows = conn.execute(
            select(users.c.email, memberships.c.role)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.org_id == org.id)
            .order_by(users.c.email, memberships.c.role)
        )
        return [{"email": e, "role": r} for e, r in rows]


def add_member(
    db: Database,
    principal: Principal,
    org_name: str,
    email: str,
    role: str,
    password: str | None = None,
) -> str | None:
    """Returns a generated password for a person who is new to the platform (shown once)."""
    _org(db, principal, org_name, Kind.membership, Action.create)
    with db.begin() as conn:
        return identity.add_member(
            conn, email, org_name, role, actor=principal.actor, password=password
        )


def remove_member(db: Database, principal: Principal, org_name: str, email: str, role: str) -> None:
    org = _org(db, principal, org_name, Kind.membership, Action.delete)
    with db.begin() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.email == email.lower())).scalar()
        removed = conn.execute(
            delete(memberships).where(
                memberships.c.org_id == org.id,
                memberships.c.user_id == user_id,
                memberships.c.role == role,
            )
        ).rowcount
        if not removed:
            raise NotFound(f"{email} has no role {role!r} in {org_name}")
        record(
            conn,
            AuditEvent(
                principal.actor,
                "membership.remove",
                organisation=org_name,
                target=f"user:{email.lower()}",
                detail={"role": role},
            ),
        )


def create_token(
    db: Database,
    principal: Principal,
    org_name: str,
    email: str,
    scopes: list[str],
    expires_in: timedelta,
) -> IssuedToken:
    _org(db, principal, org_name, Kind.token, Action.create)
    with db.begin() as conn:
        return identity.create_token(
            conn, email, org_name, actor=principal.actor, scopes=scopes, expires_in=expires_in
        )


def revoke_token(
    db: Database, principal: Principal, token_id: int, org_name: str | None = None
) -> None:
    """Revoke a token of an organisation the principal administers."""
    with db.read() as conn:
        org_id = conn.execute(
            select(api_tokens.c.org_id).where(api_tokens.c.id == token_id)
        ).scalar()
        org = next((o for o in identity.list_organisations(conn) if o.id == org_id), None)
    if org is None or (org_name is not None and org.name != org_name):
        raise NotFound(f"no token {token_id}")
    _org(db, principal, org.name, Kind.token, Action.delete)
    with db.begin() as conn:
        identity.revoke_token(conn, token_id, actor=principal.actor)


def verify_audit(
    db: Database, principal: Principal, trust: audit.Trust | None = None
) -> audit.Verification:
    """Verify the log against ``trust`` (default: the audit key file's public key)."""
    authorize(db, principal, Action.read, Resource(Kind.audit, "audit:log", owner_org_id=None))
    with db.read() as conn:
        return audit.verify(conn, trust)


def export_audit(db: Database, principal: Principal) -> Iterator[bytes]:
    authorize(db, principal, Action.read, Resource(Kind.audit, "audit:log", owner_org_id=None))
    with db.read() as conn:
        yield from audit.export_lines(conn)


def checkpoint_audit(db: Database, principal: Principal) -> audit.SignedHead | None:
    """Sign the newest audit entry with the audit key now: the signed head (None: empty log)."""
    authorize(db, principal, Action.read, Resource(Kind.audit, "audit:log", owner_org_id=None))
    with db.begin() as conn:
        return audit.checkpoint(conn)
