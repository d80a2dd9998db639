"""The domain's timestamps come from the database's injected clock: a fixed clock, moved by
the test, decides session and token expiry, a harvest lease, a publisher key's revocation
and the audit log's entry times — judged from the rows written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tweeling.access import identity, sessions
from tweeling.access.sessions import SESSION_LIFETIME
from tweeling.clock import FixedClock
from tweeling.errors import Unauthenticated
from tweeling.storage.db import Database
from tweeling.storage.schema import (
    api_tokens,
    audit_log,
    publisher_keys,
    store_harvest_sources,
    users,
)
from tweeling.storage.schema import sessions as session_rows
from tweeling.store import federation, keys

START = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored in UTC); PostgreSQL gives aware ones.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.fixture
def clock(db: Database) -> FixedClock:
    db.clock = FixedClock(START)
    return db.clock


def _member(db: Database) -> identity.Organisation:
    with db.begin() as conn:
        org = identity.create_organisation(conn, "Delft", "municipality", actor="test")
        identity.add_member(
            conn, "ann@delft.nl", "Delft", "viewer", actor="test", password="x" * 16
        )
    return org


def test_a_session_expires_when_the_clock_says(db: Database, clock: FixedClock) -> None:
    org = _member(db)
    with db.begin() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.email == "ann@delft.nl")).scalar_one()
        signed = sessions.open_session(conn, uid, "ann@delft.nl", org, False, "password")
        row = conn.execute(select(session_rows.c.created_at, session_rows.c.expires_at)).one()
    assert (_aware(row.created_at), _aware(row.expires_at)) == (START, START + SESSION_LIFETIME)
    clock.advance(SESSION_LIFETIME - timedelta(seconds=1))
    with db.read() as conn:
        assert sessions.authenticate_session(conn, signed.session).principal.email == "ann@delft.nl"
    clock.advance(timedelta(seconds=1))
    with db.read() as conn, pytest.raises(Unauthenticated):
        sessions.authenticate_session(conn, signed.session)


def test_a_token_expires_when_the_clock_says(db: Database, clock: FixedClock) -> None:
    _member(db)
    with db.begin() as conn:
        issued = identity.create_token(
            conn, "ann@delft.nl", "Delft", actor="test", expires_in=timedelta(days=2)
        )
        row = conn.execute(select(api_tokens.c.created_at, api_tokens.c.expires_at)).one()
    assert (_aware(row.created_at), _aware(row.expires_at)) == (START, START + timedelta(days=2))
    assert issued.expires_at == START + timedelta(days=2)
    clock.advance(timedelta(days=1))
    with db.begin() as conn:
        assert identity.authenticate_token(conn, issued.secret).email == "ann@delft.nl"
        touched = conn.execute(select(api_tokens.c.last_used_at)).scalar_one()
    assert _aware(touched) == START + timedelta(days=1)
    clock.advance(timedelta(days=1))
    with db.begin() as conn, pytest.raises(Unauthenticated):
        identity.authenticate_token(conn, issued.secret)


def test_a_harvest_lease_runs_out_on_the_clock(db: Database, clock: FixedClock) -> None:
    with db.begin() as conn:
        source = federation.register_source(conn, "https://store.example.nl", 3600, "test")
        assert federation.claim(conn, source)
        until = conn.execute(select(store_harvest_sources.c.claimed_until)).scalar_one()
    assert _aware(until) == START + federation.CLAIM
    with db.begin() as conn:
        assert not federation.claim(conn, source)  # held by the first harvest
    clock.advance(federation.CLAIM + timedelta(seconds=1))
    with db.begin() as conn:
        assert federation.claim(conn, source)  # that harvest's process died: taken again


def test_key_and_audit_times_are_the_clocks(db: Database, clock: FixedClock) -> None:
    key = "ab" * 32
    with db.begin() as conn:
        keys.register(conn, None, key, "platform", "test")
    clock.advance(timedelta(hours=3))
    with db.begin() as conn:
        keys.revoke(conn, None, key)
        row = conn.execute(
            select(publisher_keys.c.registered_at, publisher_keys.c.revoked_at)
        ).one()
        assert keys.valid(conn, None) == set()  # what the store's integrity check accepts
    assert (_aware(row.registered_at), _aware(row.revoked_at)) == (
        START,
        START + timedelta(hours=3),
    )
    _member(db)  # creating people is audited
    with db.read() as conn:
        times = set(conn.execute(select(audit_log.c.at)).scalars())
    assert times == {(START + timedelta(hours=3)).isoformat(timespec="microseconds")}
