"""Organisations, people and their roles, passwords and API tokens.

Passwords are hashed with argon2id. API tokens are random (256 bits), shown once and stored
as SHA-256: a token is a high-entropy secret, so a fast hash is enough and lookups stay cheap.
Every change here is written to the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from tweeling.access.audit import AuditEvent, record
from tweeling.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from tweeling.storage.db import clock_of
from tweeling.storage.schema import api_tokens, memberships, organisations, users

_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "twl"


class OrgKind(StrEnum):
    municipality = "municipality"
    province = "province"
    water_board = "water_board"
    provider = "provider"
    accreditor = "accreditor"
    market_master = "market_master"
    other = "other"


class Role(StrEnum):
    admin = "admin"
    editor = "editor"
    analyst = "analyst"
    viewer = "viewer"
    developer = "developer"
    reviewer = "reviewer"


# Roles that only make sense in some kinds of organisation.
_ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.developer: frozenset({OrgKind.provider}),
    Role.reviewer: frozenset({OrgKind.accreditor}),
}


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    kind: OrgKind
    mfa_required: bool


@dataclass(frozen=True)
class Principal:
    """Who is acting, on behalf of which organisation, with which roles and token scopes."""

    user_id: int
    email: str
    org: Organisation
    roles: frozenset[Role]
    scopes: frozenset[str] | None = None  # None: an interactive session, not limited by scope
    # Signed in with a password only, while the organisation demands a second factor: such a
    # principal may do nothing but set up two-step verification.
    second_factor_pending: bool = False
    # The platform's own operator at the command line, with direct access to the database.
    operator: bool = False

    @property
    def actor(self) -> str:
        return self.email

    @property
    def anonymous(self) -> bool:
        """A caller with no credentials at all (no token, no session): no person, no
        organisation. (A principal built for a person of a real organisation, as the
        platform's own jobs and tests do, is not anonymous, even without a user row.)"""
        return self.user_id == 0 and self.org.id == 0 and not self.roles and not self.operator


# Whoever calls with no credentials at all (no token, no session cookie).
ANONYMOUS = Principal(
    user_id=0,
    email="anonymous",
    org=Organisation(id=0, name="anonymous", kind=OrgKind.other, mfa_required=False),
    roles=frozenset(),
)


def local_operator(login: str) -> Principal:
    """Who runs ``tweeling`` commands on the platform's machine without a token."""
    return Principal(
        user_id=0,
        email=f"operator:{login}",
        org=Organisation(
            id=-1, name="local operator", kind=OrgKind.market_master, mfa_required=False
        ),
        roles=frozenset({Role.admin}),
        operator=True,
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def org_from_row(row: object) -> Organisation:
    return Organisation(
        id=row.id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        kind=OrgKind(row.kind),  # type: ignore[attr-defined]
        mfa_required=bool(row.mfa_required),  # type: ignore[attr-defined]
    )


def get_organisation(conn: Connection, name: str) -> Organisation:
    row = conn.execute(select(organisations).where(organisations.c.name == name)).first()
    if row is None:
        raise NotFound(f"no organisation named {name!r}")
    return org_from_row(row)


def list_organisations(conn: Connection) -> list[Organisation]:
    return [
        org_from_row(r) for r in conn.execute(select(organisations).order_by(organisations.c.name))
    ]


def create_organisation(
    conn: Connection, name: str, kind: str, *, actor: str, mfa_required: bool = False
) -> Organisation:
    try:
        org_kind = OrgKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in OrgKind)
        raise InvalidInput(f"unknown organisation kind {kind!r}: choose {kinds}") from None
    if not name.strip():
        raise InvalidInput("an organisation needs a name")
    if conn.execute(select(organisations.c.id).where(organisations.c.name == name)).first():
        raise Conflict(f"an organisation named {name!r} already exists")
    conn.execute(
        insert(organisations).values(
            name=name,
            kind=org_kind.value,
            mfa_required=mfa_required,
            created_at=clock_of(conn).now(),
        )
    )
    record(
        conn,
        AuditEvent(
            actor,
            "organisation.create",
            target=f"organisation:{name}",
            detail={"kind": org_kind.value, "mfa_required": mfa_required},
        ),
    )
    return get_organisation(conn, name)


def _user_id(conn: Connection, email: str) -> int | None:
    row = conn.execute(select(users.c.id).where(users.c.email == email.lower())).first()
    return int(row[0]) if row else None


def add_member(
    conn: Connection,
    email: str,
    org_name: str,
    role: str,
    *,
    actor: str,
    password: str | None = None,
) -> str | None:
    """Add a person (created if new) to an organisation with a role.

    Returns the generated password when a new person was created without one.
    """
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an e-mail address")
    try:
        member_role = Role(role)
    except ValueError:
        raise InvalidInput(
            f"unknown role {role!r}: choose {', '.join(r.value for r in Role)}"
        ) from None
    org = get_organisation(conn, org_name)
    allowed = _ROLE_ORG_KINDS.get(member_role)
    if allowed is not None and org.kind not in allowed:
        raise InvalidInput(
            f"role {member_role.value} is only for {', '.join(k.value for k in allowed)} "
            f"organisations; {org.name} is a {org.kind.value}"
        )
    generated = None
    user_id = _user_id(conn, email)
    if user_id is None:
        if password is None:
            password = generated = generate_password()
        if len(password) < 10:
            raise InvalidInput("a password needs at least 10 characters")
        user_id = conn.execute(
            insert(users)
            .values(
                email=email,
                password_hash=hash_password(password),
                totp_enabled=False,
                failed_logins=0,
                disabled=False,
                created_at=clock_of(conn).now(),
            )
            .returning(users.c.id)
        ).scalar_one()
        record(
            conn, AuditEvent(actor, "user.create", organisation=org.name, target=f"user:{email}")
        )
    exists = conn.execute(
        select(memberships.c.id).where(
            memberships.c.user_id == user_id,
            memberships.c.org_id == org.id,
            memberships.c.role == member_role.value,
        )
    ).first()
    if exists:
        raise Conflict(f"{email} already has role {member_role.value} in {org.name}")
    conn.execute(
        insert(memberships).values(
            user_id=user_id, org_id=org.id, role=member_role.value, created_at=clock_of(conn).now()
        )
    )
    record(
        conn,
        AuditEvent(
            actor,
            "membership.add",
            organisation=org.name,
            target=f"user:{email}",
            detail={"role": member_role.value},
        ),
    )
    return generated


def roles_of(conn: Connection, user_id: int, org_id: int) -> frozenset[Role]:
    rows = conn.execute(
        select(memberships.c.role).where(
            memberships.c.user_id == user_id, memberships.c.org_id == org_id
        )
    )
    return frozenset(Role(r[0]) for r in rows)


# -- API tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    id: int
    secret: str  # shown once; only its hash is stored
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    conn: Connection,
    email: str,
    org_name: str,
    *,
    actor: str,
    scopes: list[str] | None = None,
    expires_in: timedelta = timedelta(days=90),
) -> IssuedToken:
    user_id = _user_id(conn, email)
    if user_id is None:
        raise NotFound(f"no user {email!r}")
    org = get_organisation(conn, org_name)
    if not roles_of(conn, user_id, org.id):
        raise InvalidInput(f"{email} is not a member of {org.name}")
    if expires_in <= timedelta(0):
        raise InvalidInput("a token must expire in the future")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    expires = clock_of(conn).now() + expires_in
    token_id = conn.execute(
        insert(api_tokens)
        .values(
            user_id=user_id,
            org_id=org.id,
            prefix=prefix,
            token_hash=_digest(secret),
            scopes=sorted(set(scopes or [])),
            created_at=clock_of(conn).now(),
            expires_at=expires,
        )
        .returning(api_tokens.c.id)
    ).scalar_one()
    record(
        conn,
        AuditEvent(
            actor,
            "token.create",
            organisation=org.name,
            target=f"token:{token_id}",
            detail={
                "user": email.lower(),
                "scopes": sorted(set(scopes or [])),
                "expires_at": expires.isoformat(),
            },
        ),
    )
    return IssuedToken(int(token_id), secret, expires)


def revoke_token(conn: Connection, token_id: int, *, actor: str) -> None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id)
            .values(revoked_at=clock_of(conn).now())
        )
    record(conn, AuditEvent(actor, "token.revoke", target=f"token:{token_id}"))


TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def _token_prefix(secret: str) -> str:
    parts = secret.split("_", 2)
    return parts[1] if len(parts) == 3 else ""


def token_touch_due(conn: Connection, secret: str) -> bool:
    """Whether the token's last-used time is older than a minute (or unset).

    Recording every use would make every API read a write; a minute's precision is enough
    to see which tokens are alive.
    """
    last = conn.execute(
        select(api_tokens.c.last_used_at).where(api_tokens.c.prefix == _token_prefix(secret))
    ).scalar()
    if last is None:
        return True
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return bool(clock_of(conn).now() - last >= TOKEN_TOUCH_INTERVAL)


def touch_token(conn: Connection, secret: str) -> None:
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.prefix == _token_prefix(secret))
        .values(last_used_at=clock_of(conn).now())
    )


def authenticate_token(conn: Connection, secret: str, *, touch: bool = True) -> Principal:
    """The principal behind a bearer token; the same vague error for every failure.

    With ``touch`` the token's last-used time is set (``conn`` must then be writable).
    """
    failure = Unauthenticated("invalid, expired or revoked token")
    parts = secret.split("_", 2)  # the random part may itself contain "_"
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise failure
    row = conn.execute(select(api_tokens).where(api_tokens.c.prefix == parts[1])).first()
    if row is None or not hmac.compare_digest(row.token_hash, _digest(secret)):
        raise failure
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if row.revoked_at is not None or expires <= clock_of(conn).now():
        raise failure
    user = conn.execute(select(users).where(users.c.id == row.user_id)).one()
    if user.disabled:
        raise failure
    org = org_from_row(
        conn.execute(select(organisations).where(organisations.c.id == row.org_id)).one()
    )
    if touch:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == row.id)
            .values(last_used_at=clock_of(conn).now())
        )
    return Principal(
        user_id=user.id,
        email=user.email,
        org=org,
        roles=roles_of(conn, user.id, org.id),
        scopes=frozenset(row.scopes or []),
    )


# -- first run -------------------------------------------------------------------------------

MARKET_MASTER = "Marktmeester"
FIRST_ADMIN = "admin@marktmeester.local"


def bootstrap(conn: Connection) -> str | None:
    """On an empty platform: the market master's organisation and its admin.

    Returns the admin's generated password (to be shown once), or None if already set up.
    """
    if conn.execute(select(organisations.c.id)).first() is not None:
        return None
    create_organisation(
        conn, MARKET_MASTER, OrgKind.market_master.value, actor="system", mfa_required=False
    )
    return add_member(conn, FIRST_ADMIN, MARKET_MASTER, Role.admin.value, actor="system")
