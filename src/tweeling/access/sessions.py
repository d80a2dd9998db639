"""Signing in with a password (and a TOTP code), browser sessions, two-step verification.

Sessions are random secrets kept in an HttpOnly cookie and stored as SHA-256; each carries a
CSRF token that state-changing requests must echo in a header. Five wrong attempts lock an
account for fifteen minutes. A TOTP code is good once: the time step of the last accepted
code is kept per person, and only a later step is accepted (so a code seen over a shoulder
or replayed from a log is refused even within its thirty seconds). Every sign-in, failure,
lockout and 2FA change is audited — failures in their own transaction, so they stay
recorded although the sign-in fails.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import Connection, insert, or_, select, update

from tweeling.access.audit import AuditEvent, AuditOutcome, record
from tweeling.access.identity import (
    Organisation,
    Principal,
    org_from_row,
    password_matches,
    roles_of,
)
from tweeling.errors import Forbidden, InvalidInput, TooManyAttempts, Unauthenticated
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import memberships, organisations, sessions, users

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)
ISSUER = "Tweeling"


class SecondFactorNeeded(Unauthenticated):
    """The password was right, but the account uses two-step verification and no code came
    (its own ``code``, so that a sign-in form knows to ask for one)."""

    code = "second_factor_needed"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SignedIn:
    session: str  # goes into the cookie; only its hash is stored
    csrf_token: str
    principal: Principal


def _organisations_of(conn: Connection, user_id: int) -> list[Organisation]:
    rows = conn.execute(
        select(organisations)
        .join(memberships, memberships.c.org_id == organisations.c.id)
        .where(memberships.c.user_id == user_id)
        .distinct()
        .order_by(organisations.c.name)
    )
    return [org_from_row(r) for r in rows]


def login(
    db: Database,
    email: str,
    password: str,
    *,
    totp: str | None = None,
    organisation: str | None = None,
) -> SignedIn:
    email = email.strip().lower()
    failure: Exception | None = None
    signed_in: SignedIn | None = None
    with db.begin() as conn:
        user = conn.execute(select(users).where(users.c.email == email)).first()
        if user is None or user.disabled:
            record(
                conn,
                AuditEvent(email, "login", outcome=AuditOutcome.failure, detail={"why": "unknown"}),
            )
            failure = Unauthenticated("wrong e-mail address or password")
        elif user.locked_until is not None and _aware(user.locked_until) > clock_of(conn).now():
            record(
                conn,
                AuditEvent(email, "login", outcome=AuditOutcome.denied, detail={"why": "locked"}),
            )
            failure = TooManyAttempts(
                f"too many failed sign-ins; try again after {_aware(user.locked_until):%H:%M} UTC"
            )
        else:
            failure, signed_in = _check(conn, user, password, totp, organisation)
    if failure is not None:
        raise failure
    assert signed_in is not None
    return signed_in


def _check(
    conn: Connection,
    user: object,
    password: str,
    totp: str | None,
    organisation: str | None,
) -> tuple[Exception | None, SignedIn | None]:
    uid: int = user.id  # type: ignore[attr-defined]
    email: str = user.email  # type: ignore[attr-defined]
    ok = password_matches(user.password_hash, password)  # type: ignore[attr-defined]
    why = "password"
    if ok and user.totp_enabled:  # type: ignore[attr-defined]
        ok = bool(totp) and use_totp_code(conn, uid, user.totp_secret, str(totp))  # type: ignore[attr-defined]
        why = "second factor"
    if not ok:
        failures = int(user.failed_logins) + 1  # type: ignore[attr-defined]
        values: dict[str, object] = {"failed_logins": failures}
        if failures >= MAX_FAILURES:
            values = {"failed_logins": 0, "locked_until": clock_of(conn).now() + LOCKOUT}
        conn.execute(update(users).where(users.c.id == uid).values(**values))
        locked = "locked_until" in values
        record(
            conn,
            AuditEvent(
                email, "login", outcome=AuditOutcome.failure, detail={"why": why, "locked": locked}
            ),
        )
        if why == "second factor" and not totp:
            return SecondFactorNeeded(
                "this account uses two-step verification: give the code"
            ), None
        return Unauthenticated("wrong e-mail address, password or code"), None
    org = choose_organisation(conn, uid, organisation)
    if isinstance(org, Exception):
        return org, None
    conn.execute(update(users).where(users.c.id == uid).values(failed_logins=0, locked_until=None))
    return None, open_session(conn, uid, email, org, bool(user.totp_enabled), "password")  # type: ignore[attr-defined]


def use_totp_code(conn: Connection, user_id: int, secret: str | None, code: str) -> bool:
    """Whether ``code`` is right for ``secret`` now (one step of clock drift either way) and
    of a later time step than any code this person used before; if so, its step is taken.

    Taking it is one conditional UPDATE, so of two requests racing with the same code only
    one wins.
    """
    if not secret or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(clock_of(conn).now())
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            taken = conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .where(or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step))
                .values(totp_last_step=step)
            )
            return taken.rowcount == 1
    return False


def choose_organisation(
    conn: Connection, user_id: int, organisation: str | None
) -> Organisation | Exception:
    """The organisation a sign-in acts for, or the error explaining why none could be chosen."""
    orgs = _organisations_of(conn, user_id)
    if organisation is not None:
        chosen = [o for o in orgs if o.name == organisation]
        return chosen[0] if chosen else Unauthenticated(f"you are not a member of {organisation!r}")
    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        return Forbidden("your account belongs to no organisation")
    names = ", ".join(o.name for o in orgs)
    return InvalidInput(f"you belong to several organisations; choose one of: {names}")


def open_session(
    conn: Connection, user_id: int, email: str, org: Organisation, second_factor: bool, method: str
) -> SignedIn:
    """A new browser session for a person who has just proved who they are."""
    session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    opened = clock_of(conn).now()
    conn.execute(
        insert(sessions).values(
            session_hash=_digest(session),
            csrf_token=csrf,
            user_id=user_id,
            org_id=org.id,
            second_factor=second_factor,
            created_at=opened,
            expires_at=opened + SESSION_LIFETIME,
        )
    )
    record(
        conn,
        AuditEvent(
            email,
            "login",
            organisation=org.name,
            detail={"method": method, "second_factor": second_factor},
        ),
    )
    principal = Principal(
        user_id=user_id,
        email=email,
        org=org,
        roles=roles_of(conn, user_id, org.id),
        second_factor_pending=org.mfa_required and not second_factor,
    )
    return SignedIn(session, csrf, principal)


@dataclass(frozen=True)
class SessionCaller:
    principal: Principal
    csrf_token: str
    session_id: int


def authenticate_session(conn: Connection, secret: str) -> SessionCaller:
    row = conn.execute(select(sessions).where(sessions.c.session_hash == _digest(secret))).first()
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= clock_of(conn).now():
        raise Unauthenticated("your session has ended; sign in again")
    user = conn.execute(select(users).where(users.c.id == row.user_id)).one()
    if user.disabled:
        raise Unauthenticated("your session has ended; sign in again")
    org = org_from_row(
        conn.execute(select(organisations).where(organisations.c.id == row.org_id)).one()
    )
    principal = Principal(
        user_id=user.id,
        email=user.email,
        org=org,
        roles=roles_of(conn, user.id, org.id),
        second_factor_pending=org.mfa_required and not row.second_factor,
    )
    return SessionCaller(principal, row.csrf_token, row.id)


def csrf_ok(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)


def logout(db: Database, secret: str) -> None:
    with db.begin() as conn:
        caller = authenticate_session(conn, secret)
        conn.execute(
            update(sessions)
            .where(sessions.c.id == caller.session_id)
            .values(revoked_at=clock_of(conn).now())
        )
        record(
            conn,
            AuditEvent(caller.principal.email, "logout", organisation=caller.principal.org.name),
        )


def start_totp(db: Database, principal: Principal) -> tuple[str, str]:
    """A new TOTP secret for the principal (not active until confirmed): (secret, otpauth URI)."""
    secret = pyotp.random_base32()
    with db.begin() as conn:
        user = conn.execute(select(users).where(users.c.id == principal.user_id)).one()
        if user.totp_enabled:
            raise InvalidInput("two-step verification is already on; turn it off first")
        conn.execute(
            update(users)
            .where(users.c.id == principal.user_id)
            .values(totp_secret=secret, totp_last_step=None)
        )
        record(conn, AuditEvent(principal.email, "2fa.setup", organisation=principal.org.name))
    uri = pyotp.TOTP(secret).provisioning_uri(name=principal.email, issuer_name=ISSUER)
    return secret, uri


def confirm_totp(db: Database, principal: Principal, code: str, session_id: int | None) -> None:
    with db.begin() as conn:
        user = conn.execute(select(users).where(users.c.id == principal.user_id)).one()
        if not use_totp_code(conn, principal.user_id, user.totp_secret, code):
            record(
                conn,
                AuditEvent(
                    principal.email,
                    "2fa.enable",
                    outcome=AuditOutcome.failure,
                    organisation=principal.org.name,
                ),
            )
            ok = False
        else:
            conn.execute(
                update(users).where(users.c.id == principal.user_id).values(totp_enabled=True)
            )
            if session_id is not None:
                conn.execute(
                    update(sessions).where(sessions.c.id == session_id).values(second_factor=True)
                )
            record(conn, AuditEvent(principal.email, "2fa.enable", organisation=principal.org.name))
            ok = True
    if not ok:
        raise InvalidInput(
            "that code is not right or was used already; check the time on your device and "
            "give the next code"
        )


def disable_totp(db: Database, principal: Principal, code: str) -> None:
    if principal.org.mfa_required:
        raise Forbidden(f"{principal.org.name} requires two-step verification")
    with db.begin() as conn:
        user = conn.execute(select(users).where(users.c.id == principal.user_id)).one()
        ok = bool(user.totp_enabled) and use_totp_code(
            conn, principal.user_id, user.totp_secret, code
        )
        if ok:
            conn.execute(
                update(users)
                .where(users.c.id == principal.user_id)
                .values(totp_enabled=False, totp_secret=None)
            )
        record(
            conn,
            AuditEvent(
                principal.email,
                "2fa.disable",
                outcome=AuditOutcome.success if ok else AuditOutcome.failure,
                organisation=principal.org.name,
            ),
        )
    if not ok:
        raise InvalidInput("that code is not right or was used already")
