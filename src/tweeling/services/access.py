"""Who acts, for the CLI: the principal behind a token or the local operator, the platform's
first set-up, and the organisations a command names. The HTTP API identifies its callers in
api/deps.py through the same access/ functions."""

from __future__ import annotations

import re
from pathlib import Path

from tweeling.access import audit, identity, keys
from tweeling.access.identity import ANONYMOUS as ANONYMOUS
from tweeling.access.identity import FIRST_ADMIN as FIRST_ADMIN
from tweeling.access.identity import MARKET_MASTER as MARKET_MASTER
from tweeling.access.identity import OrgKind as OrgKind
from tweeling.access.identity import Principal as Principal
from tweeling.access.identity import Role as Role
from tweeling.errors import InvalidInput, NotFound
from tweeling.storage.db import Database
from tweeling.twin.twins import default_author


def token_principal(db: Database, token: str) -> Principal:
    """The principal behind a bearer token (its last use recorded)."""
    with db.begin() as conn:
        return identity.authenticate_token(conn, token)


def local_operator(by: str | None = None) -> Principal:
    """Who runs commands on the platform's machine without a token: ``operator:<login>``
    (or ``by``). The operator still goes through the policy point and the audit log."""
    return identity.local_operator(by or default_author())


def set_up_platform(db: Database) -> str | None:
    """After ``init``'s migration: the platform key, and on an empty platform the market
    master's organisation and its administrator, whose generated password is returned (to
    be shown once; None when the platform was set up already)."""
    with db.begin() as conn:
        keys.load_or_create(conn)
        return identity.bootstrap(conn)


def new_twin_owner(db: Database, name: str | None) -> int | None:
    """The organisation that will own a new twin: the one named, else the market master
    (None on a database set up without ``tweeling init``: no organisations yet)."""
    with db.read() as conn:
        if name is not None:
            return identity.get_organisation(conn, name).id
        try:
            return identity.get_organisation(conn, MARKET_MASTER).id
        except NotFound:
            return None


_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


def audit_trust(anchor: Path | None, public_keys: list[str]) -> audit.Trust:
    """What the audit log's verifier believes, from outside the database: the operator's
    keys (hex), else the audit key file's; and the operator's signed head (``anchor``)."""
    head = None
    if anchor is not None:
        try:
            data = anchor.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"--anchor {anchor}: cannot read it ({exc.strerror})") from exc
        head = audit.SignedHead.from_json(data, f"--anchor {anchor}")
    for key in public_keys:
        if not _HEX_KEY.match(key):
            raise InvalidInput(
                f"--public-key {key!r}: not an Ed25519 public key (64 hexadecimal digits)"
            )
    if public_keys:
        return audit.Trust(frozenset(k.lower() for k in public_keys), anchor=head)
    return audit.default_trust(head)
