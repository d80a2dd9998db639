"""People, tokens and the policy point."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from sqlalchemy import select, text

from tweeling.access import identity
from tweeling.access.identity import OrgKind, Principal, Role
from tweeling.access.policy import (
    PLATFORM_GRANTS,
    ROLE_GRANTS,
    Action,
    Kind,
    Resource,
    Share,
    authorize,
    decide,
)
from tweeling.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from tweeling.storage.db import Database
from tweeling.storage.schema import audit_log, users


@pytest.fixture
def platform(db: Database) -> Database:
    with db.begin() as conn:
        assert identity.bootstrap(conn) is not None
        assert identity.bootstrap(conn) is None  # only once
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="test")
        identity.create_organisation(conn, "Waterschap Delfland", "water_board", actor="test")
        identity.create_organisation(conn, "SolarCo", "provider", actor="test")
        identity.add_member(
            conn,
            "anna@delft.nl",
            "Gemeente Delft",
            "editor",
            actor="test",
            password="correct horse battery",
        )
    return db


def test_passwords_are_hashed_never_stored(platform: Database) -> None:
    with platform.read() as conn:
        stored = conn.execute(
            select(users.c.password_hash).where(users.c.email == "anna@delft.nl")
        ).scalar_one()
    assert "correct horse" not in stored and stored.startswith("$argon2id$")
    assert identity.password_matches(stored, "correct horse battery")
    assert not identity.password_matches(stored, "wrong horse battery")


def test_membership_rules(platform: Database) -> None:
    with platform.begin() as conn:
        with pytest.raises(InvalidInput, match="only for provider"):
            identity.add_member(conn, "dev@delft.nl", "Gemeente Delft", "developer", actor="t")
        with pytest.raises(InvalidInput, match="unknown role"):
            identity.add_member(conn, "x@delft.nl", "Gemeente Delft", "owner", actor="t")
        with pytest.raises(Conflict):
            identity.add_member(conn, "anna@delft.nl", "Gemeente Delft", "editor", actor="t")
        # one person, several organisations
        identity.add_member(conn, "anna@delft.nl", "Waterschap Delfland", "viewer", actor="t")
        generated = identity.add_member(conn, "dev@solarco.nl", "SolarCo", "developer", actor="t")
        assert generated and len(generated) >= 20


def test_token_lifecycle(platform: Database) -> None:
    with platform.begin() as conn:
        issued = identity.create_token(
            conn, "anna@delft.nl", "Gemeente Delft", actor="t", scopes=["twin:read"]
        )
        short = identity.create_token(
            conn, "anna@delft.nl", "Gemeente Delft", actor="t", expires_in=timedelta(minutes=5)
        )
    with platform.begin() as conn:
        principal = identity.authenticate_token(conn, issued.secret)
    assert principal.email == "anna@delft.nl"
    assert principal.org.name == "Gemeente Delft"
    assert principal.roles == {Role.editor}
    assert principal.scopes == {"twin:read"}
    with platform.begin() as conn:
        token_table = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert issued.secret not in token_table  # only hashes are stored
    for bad in (
        issued.secret[:-1] + ("x" if issued.secret[-1] != "x" else "y"),
        "twl_nope_x",
        "garbage",
    ):
        with platform.begin() as conn, pytest.raises(Unauthenticated):
            identity.authenticate_token(conn, bad)
    with platform.begin() as conn:
        identity.revoke_token(conn, issued.id, actor="t")
    with platform.begin() as conn, pytest.raises(Unauthenticated):
        identity.authenticate_token(conn, issued.secret)
    with platform.begin() as conn:
        conn.execute(
            text("UPDATE api_tokens SET expires_at = created_at WHERE id = :i"), {"i": short.id}
        )
    with platform.begin() as conn, pytest.raises(Unauthenticated):
        identity.authenticate_token(conn, short.secret)
    with platform.read() as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert actions.count("token.create") == 2 and "token.revoke" in actions


def _principal(
    org_id: int, kind: OrgKind, *roles: Role, scopes: frozenset[str] | None = None
) -> Principal:
    org = identity.Organisation(org_id, f"org{org_id}", kind, False)
    return Principal(1, "p@example.nl", org, frozenset(roles), scopes)


RESOURCE_KINDS = (Kind.twin, Kind.dataset, Kind.scenario)


@pytest.mark.parametrize(("role", "kind", "action"), list(product(Role, RESOURCE_KINDS, Action)))
def test_matrix_own_and_other_organisation(role: Role, kind: Kind, action: Action) -> None:
    """Generated from the policy's own tables: inside the owning organisation a role may do
    exactly what ROLE_GRANTS lists; from another organisation nothing is even visible."""
    own = Resource(kind, f"{kind.value}:x", owner_org_id=1)
    mine = decide(_principal(1, OrgKind.municipality, role), action, own)
    assert mine.allowed == ((kind, action) in ROLE_GRANTS[role])
    assert mine.visible
    other = decide(_principal(2, OrgKind.municipality, role), action, own)
    assert not other.allowed and not other.visible


def test_sharing_and_purpose_binding() -> None:
    reader = _principal(2, OrgKind.water_board, Role.viewer)
    shared = Resource(
        Kind.dataset,
        "dataset:7",
        owner_org_id=1,
        shares=(Share(2, frozenset({"noise assessment"})),),
    )
    assert decide(reader, Action.read, shared, "noise assessment").allowed
    denied = decide(reader, Action.read, shared, "permit check")
    assert not denied.allowed and denied.visible
    assert "only for noise assessment" in denied.reason and "permit check" in denied.reason
    assert not decide(reader, Action.update, shared, "noise assessment").allowed
    public = Resource(Kind.twin, "twin:delft", owner_org_id=1, public=True)
    assert decide(reader, Action.read, public).allowed
    assert not decide(reader, Action.delete, public).allowed


def test_token_scopes_narrow_roles() -> None:
    admin = _principal(1, OrgKind.municipality, Role.admin, scopes=frozenset({"twin:read"}))
    own = Resource(Kind.twin, "twin:x", owner_org_id=1)
    assert decide(admin, Action.read, own).allowed
    assert not decide(admin, Action.delete, own).allowed


def test_platform_admin() -> None:
    master = _principal(9, OrgKind.market_master, Role.admin)
    for kind, action in PLATFORM_GRANTS:
        assert decide(master, action, Resource(kind, f"{kind.value}:x", owner_org_id=1)).allowed
    # but no reach into another organisation's data
    assert not decide(
        master, Action.read, Resource(Kind.dataset, "dataset:1", owner_org_id=1)
    ).allowed


def test_denials_are_audited_and_hide_existence(platform: Database) -> None:
    stranger = _principal(2, OrgKind.municipality, Role.admin)
    with pytest.raises(NotFound) as hidden:
        authorize(
            platform, stranger, Action.read, Resource(Kind.twin, "twin:secret", owner_org_id=1)
        )
    assert "secret" in str(hidden.value) and "shared" not in str(hidden.value)
    viewer = _principal(1, OrgKind.municipality, Role.viewer)
    with pytest.raises(Forbidden, match="do not allow delete"):
        authorize(
            platform, viewer, Action.delete, Resource(Kind.twin, "twin:delft", owner_org_id=1)
        )
    with platform.read() as conn:
        denied = conn.execute(
            select(audit_log.c.action, audit_log.c.target).where(audit_log.c.outcome == "denied")
        ).all()
    assert [tuple(d) for d in denied] == [
        ("twin.read", "twin:secret"),
        ("twin.delete", "twin:delft"),
    ]
