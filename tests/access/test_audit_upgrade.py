"""A log written before revision 0012 (checkpoints signed by the platform key, no chain of
checkpoints) upgrades in place: it still verifies, the next entry starts the new chain, and
nobody loses a membership to the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from tweeling.access import audit, identity, keys
from tweeling.access.audit import GENESIS, AuditEvent, entry_hash, record
from tweeling.storage.db import Database, _alembic_config


@pytest.fixture(autouse=True)
def key_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TWEELING_PLATFORM_KEY", str(tmp_path / "home" / "keys" / "platform.pem"))


def _to_revision(db: Database, revision: str) -> None:
    with db.engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _legacy_log(db: Database, entries: int, signed_at: int) -> None:
    """What revision 0011 wrote: a chain, its head, and a checkpoint of (seq, hash) signed
    with the platform key."""
    with db.begin() as conn:
        platform = keys.load_or_create(conn)
    prev = GENESIS
    with db.begin() as conn:
        for seq in range(1, entries + 1):
            at = datetime.now(UTC).isoformat(timespec="microseconds")
            row = [seq, at, "old@example.nl", None, "thing.do", f"t:{seq}", "success", "{}"]
            digest = entry_hash(*row, prev)
            conn.execute(
                text(
                    "INSERT INTO audit_log VALUES (:s, :a, :who, :o, :what, :t, :out, :d, :p, :h)"
                ),
                dict(
                    zip(["s", "a", "who", "o", "what", "t", "out", "d"], row, strict=True),
                    p=prev,
                    h=digest,
                ),
            )
            if seq == signed_at:
                message = f"tweeling-audit-checkpoint:{seq}:{digest}".encode()
                conn.execute(
                    text("INSERT INTO audit_checkpoints VALUES (:s, :h, :k, :sig, :a)"),
                    {
                        "s": seq,
                        "h": digest,
                        "k": keys.public_hex(platform),
                        "sig": platform.sign(message).hex(),
                        "a": at,
                    },
                )
            prev = digest
        conn.execute(text("DELETE FROM audit_head"))
        conn.execute(text("INSERT INTO audit_head VALUES (1, :s, :h)"), {"s": entries, "h": prev})


def test_a_log_from_before_0012_upgrades_and_keeps_its_guarantees(db: Database) -> None:
    with db.begin() as conn:
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
        identity.add_member(conn, "anna@delft.nl", "Gemeente Delft", "editor", actor="t")
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_head"))
    _to_revision(db, "0011")
    _legacy_log(db, entries=12, signed_at=10)
    db.migrate()
    with db.read() as conn:
        members = conn.execute(text("SELECT COUNT(*) FROM memberships")).scalar_one()
    assert members == 1

    trust = audit.default_trust()  # the audit key file, and the platform key file for old ones
    with db.read() as conn:
        result = audit.verify(conn, trust)
    assert result.ok, result.problem
    assert (result.entries, result.checkpoints) == (12, 1)

    with db.begin() as conn:  # the first entry after the upgrade is signed at once
        record(conn, AuditEvent("new@example.nl", "thing.do"))
        chain = conn.execute(text("SELECT seq, prev_seq FROM audit_checkpoints ORDER BY seq"))
        assert [tuple(r) for r in chain] == [(10, None), (13, 10)]
    with db.read() as conn:
        assert audit.verify(conn, trust).ok
        # the platform key signs nothing new: trusting only the audit key fails the old one
        only_new = audit.verify(conn, audit.Trust(trust.keys))
    assert not only_new.ok and only_new.first_bad == 10

    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq = 10"))
    with db.read() as conn:
        result = audit.verify(conn, trust)
    assert not result.ok and "checkpoint 10, which checkpoint 13 follows, is gone" in (
        result.problem or ""
    )
