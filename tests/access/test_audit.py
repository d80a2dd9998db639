"""The audit log detects every kind of tampering: change, removal, insertion, reordering,
rewriting with recomputed hashes, forged checkpoints — and, with its trust anchor outside
the database, deleted checkpoints, a truncated tail and checkpoints signed by another key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, text

from tweeling.access import audit, keys
from tweeling.access.audit import AuditEvent, record, verify
from tweeling.clock import FixedClock
from tweeling.errors import InvalidInput, NotConfigured
from tweeling.storage.db import Database


@pytest.fixture(autouse=True)
def audit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The audit key in this test's own folder; a checkpoint every 50 entries."""
    monkeypatch.setenv("TWEELING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TWEELING_AUDIT_KEY", str(tmp_path / "home" / "keys" / "audit.pem"))
    monkeypatch.setenv("TWEELING_AUDIT_CHECKPOINT_ENTRIES", "50")
    monkeypatch.setenv("TWEELING_AUDIT_CHECKPOINT_MINUTES", "10")
    return tmp_path / "home"


def _event(i: int) -> AuditEvent:
    return AuditEvent(f"user{i % 7}@example.nl", "thing.do", target=f"t:{i}", detail={"i": i})


@pytest.fixture
def log(db: Database) -> Database:
    """120 entries written the ordinary way (no key passed): checkpoints at 50 and 100."""
    with db.begin() as conn:
        for i in range(120):
            record(conn, _event(i))
    return db


def _verify(db: Database, trust: audit.Trust | None = None) -> audit.Verification:
    with db.read() as conn:
        return verify(conn, trust)


def test_intact_log_verifies(log: Database) -> None:
    result = _verify(log)
    assert result.ok, result.problem
    assert (result.entries, result.checkpoints, result.unsigned_tail) == (120, 2, 20)


def test_checkpoints_are_made_automatically_with_a_key_kept_out_of_the_database(
    log: Database, audit_home: Path
) -> None:
    key_file = audit_home / "keys" / "audit.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    public = keys.public_hex(keys.read_private_key(key_file))
    with log.read() as conn:
        rows = conn.execute(
            text("SELECT seq, prev_seq, public_key FROM audit_checkpoints ORDER BY seq")
        ).all()
        stored = " ".join(
            str(v)
            for table in ("audit_checkpoints", "audit_head", "platform_keys")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for v in row
        )
    assert [tuple(r) for r in rows] == [(50, 0, public), (100, 50, public)]
    private = keys.read_private_key(key_file).private_bytes_raw().hex()
    assert private not in stored


def test_a_checkpoint_is_due_minutes_after_the_last(db: Database) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    db.clock = clock
    with db.begin() as conn:
        for i in range(10):
            record(conn, _event(i))
            clock.advance(timedelta(seconds=30))
    clock.advance(timedelta(minutes=10))
    with db.begin() as conn:
        record(conn, _event(10))
        record(conn, _event(11))
        signed = conn.execute(text("SELECT seq FROM audit_checkpoints")).scalars().all()
    assert signed == [11]
    assert _verify(db).ok
    _tamper(db, "DELETE FROM audit_checkpoints")
    result = _verify(db)
    assert not result.ok and result.first_bad == 11
    assert "checkpoints were deleted" in (result.problem or "")


def _tamper(db: Database, sql: str) -> None:
    with db.begin() as conn:
        conn.execute(text(sql))


@pytest.mark.parametrize(
    ("sql", "first_bad", "words"),
    [
        ("UPDATE audit_log SET actor = 'mallory@example.nl' WHERE seq = 70", 70, "changed"),
        ("UPDATE audit_log SET detail = '[]' WHERE seq = 7", 7, "changed"),
        ("DELETE FROM audit_log WHERE seq = 40", 40, "missing"),
        ("DELETE FROM audit_log WHERE seq = 120", 120, "removed from the end"),
        (
            "UPDATE audit_log SET seq = -seq WHERE seq IN (30, 31); "
            "UPDATE audit_log SET seq = 31 WHERE seq = -30; "
            "UPDATE audit_log SET seq = 30 WHERE seq = -31",
            30,
            "reordered",
        ),
    ],
    ids=["changed-actor", "changed-detail", "deleted", "tail-deleted", "reordered"],
)
def test_tampering_is_detected(log: Database, sql: str, first_bad: int, words: str) -> None:
    for statement in sql.split("; "):
        _tamper(log, statement)
    result = _verify(log)
    assert not result.ok
    assert result.first_bad == first_bad
    assert words in (result.problem or "")


def _rewrite_from(
    conn: Connection, start: int, change: Callable[[dict[str, object]], None]
) -> None:
    """What an attacker with database access but no key can do: change an entry and
    recompute every hash after it, head included."""
    rows = conn.execute(text("SELECT * FROM audit_log WHERE seq >= :s ORDER BY seq"), {"s": start})
    entries = [dict(r._mapping) for r in rows]
    prev = conn.execute(
        text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": start - 1}
    ).scalar_one()
    for entry in entries:
        if entry["seq"] == start:
            change(entry)
        entry["prev_hash"] = prev
        entry["hash"] = audit.entry_hash(
            entry["seq"],
            entry["at"],
            entry["actor"],
            entry["organisation"],
            entry["action"],
            entry["target"],
            entry["outcome"],
            entry["detail"],
            prev,
        )
        conn.execute(
            text(
                "UPDATE audit_log SET actor=:actor, prev_hash=:prev_hash, hash=:hash WHERE seq=:seq"
            ),
            entry,
        )
        prev = entry["hash"]
    conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})


def test_inserted_entry_is_detected(log: Database) -> None:
    with log.begin() as conn:
        conn.execute(text("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 60"))
        conn.execute(text("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1060"))
        row = dict(conn.execute(text("SELECT * FROM audit_log WHERE seq = 59")).one()._mapping)
        row.update(seq=60, actor="mallory@example.nl")
        conn.execute(
            text(
                "INSERT INTO audit_log VALUES (:seq, :at, :actor, :organisation, :action, "
                ":target, :outcome, :detail, :prev_hash, :hash)"
            ),
            row,
        )
    result = _verify(log)
    assert not result.ok
    assert result.first_bad == 60


def test_rewritten_history_is_caught_by_the_signed_checkpoint(log: Database) -> None:
    with log.begin() as conn:
        _rewrite_from(conn, 20, lambda e: e.update(actor="mallory@example.nl"))
    result = _verify(log)
    assert not result.ok
    assert result.first_bad == 50
    assert "rewritten" in (result.problem or "")


def test_forged_checkpoint_signature(log: Database) -> None:
    with log.begin() as conn:
        sig = conn.execute(
            text("SELECT signature FROM audit_checkpoints WHERE seq = 100")
        ).scalar_one()
        forged = ("0" if sig[0] != "0" else "1") + sig[1:]
        conn.execute(
            text("UPDATE audit_checkpoints SET signature = :s WHERE seq = 100"), {"s": forged}
        )
    result = _verify(log)
    assert not result.ok and result.first_bad == 100 and "bad signature" in (result.problem or "")


@pytest.mark.parametrize(
    ("deleted", "first_bad", "words"),
    [
        ("seq = 50", 50, "checkpoint 50, which checkpoint 100 follows, is gone"),
        ("seq = 100", 100, "checkpoints were deleted"),
        ("1 = 1", 50, "checkpoints were deleted"),
    ],
    ids=["first", "last", "all"],
)
def test_deleted_checkpoints_are_detected(
    log: Database, deleted: str, first_bad: int, words: str
) -> None:
    _tamper(log, f"DELETE FROM audit_checkpoints WHERE {deleted}")
    result = _verify(log)
    assert not result.ok
    assert result.first_bad == first_bad
    assert words in (result.problem or "")


def _resign(conn: Connection, key: Ed25519PrivateKey) -> None:
    """What an attacker with database access and a key of their own can do: re-sign every
    checkpoint (after rewriting history) and register the key where the old verifier
    looked for keys."""
    rows = conn.execute(text("SELECT * FROM audit_checkpoints")).mappings().all()
    for row in rows:
        head = audit.SignedHead(**{**dict(row), "public_key": keys.public_hex(key)})
        conn.execute(
            text("UPDATE audit_checkpoints SET public_key = :k, signature = :s WHERE seq = :q"),
            {"k": head.public_key, "s": key.sign(head.message()).hex(), "q": head.seq},
        )
    conn.execute(
        text("INSERT INTO platform_keys (public_key, created_at) VALUES (:k, :t)"),
        {"k": keys.public_hex(key), "t": datetime.now(UTC)},
    )


def test_checkpoints_signed_by_another_key_fail(log: Database) -> None:
    with log.begin() as conn:
        _rewrite_from(conn, 20, lambda e: e.update(actor="mallory@example.nl"))
        hashes: dict[int, str] = dict(
            conn.execute(text("SELECT seq, hash FROM audit_log WHERE seq IN (50, 100)")).all()
        )
        for seq, digest in hashes.items():
            conn.execute(
                text("UPDATE audit_checkpoints SET hash = :h WHERE seq = :s"),
                {"h": digest, "s": seq},
            )
        _resign(conn, Ed25519PrivateKey.generate())
    result = _verify(log)
    assert not result.ok and result.first_bad == 50
    assert "not the trust anchor" in (result.problem or "")


def test_without_a_trust_anchor_nothing_verifies(
    log: Database, audit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEELING_AUDIT_KEY", str(audit_home / "elsewhere.pem"))
    with pytest.raises(NotConfigured, match="no trust anchor"):
        _verify(log, audit.default_trust())  # an operator's machine without the key file
    # the platform that lost its key makes a new one, which signed none of the checkpoints
    result = _verify(log)
    assert not result.ok and "not the trust anchor" in (result.problem or "")
    public = keys.public_hex(keys.read_private_key(audit_home / "keys" / "audit.pem"))
    assert _verify(log, audit.Trust(frozenset({public}))).ok


def _anchor(db: Database, tmp_path: Path) -> audit.SignedHead:
    """``tweeling audit anchor``: the signed head, written to a file and read back."""
    with db.begin() as conn:
        head = audit.checkpoint(conn)
    assert head is not None
    path = tmp_path / "head.json"
    path.write_bytes(head.to_json())
    return audit.SignedHead.from_json(path.read_bytes(), str(path))


def test_the_anchor_catches_a_truncated_tail(log: Database, tmp_path: Path) -> None:
    with log.begin() as conn:
        for i in range(120, 130):
            record(conn, _event(i))
    anchor = _anchor(log, tmp_path)
    assert anchor.seq == 130 and anchor.prev_seq == 100
    assert _verify(log, audit.default_trust(anchor)).anchored == 130
    with log.begin() as conn:  # back to the checkpoint at 100, head and all
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > 100"))
        conn.execute(text("DELETE FROM audit_log WHERE seq > 100"))
        conn.execute(
            text(
                "UPDATE audit_head SET seq = 100, checkpoint_seq = 100, hash = "
                "(SELECT hash FROM audit_log WHERE seq = 100)"
            )
        )
    assert _verify(log).ok  # the database alone cannot tell: what the anchor is for
    result = _verify(log, audit.default_trust(anchor))
    assert not result.ok and result.first_bad == 101
    assert "removed from the end" in (result.problem or "")


def test_the_anchor_catches_a_rewritten_tail(log: Database, tmp_path: Path) -> None:
    anchor = _anchor(log, tmp_path)
    with log.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq = 120"))
        conn.execute(text("UPDATE audit_head SET checkpoint_seq = 100"))
        _rewrite_from(conn, 110, lambda e: e.update(actor="mallory@example.nl"))
    assert _verify(log).ok
    result = _verify(log, audit.default_trust(anchor))
    assert not result.ok and result.first_bad == 120
    assert "rewritten since the signed head" in (result.problem or "")


def test_an_anchor_signed_by_another_key_fails(log: Database, tmp_path: Path) -> None:
    anchor = _anchor(log, tmp_path)
    other = Ed25519PrivateKey.generate()
    forged = audit.SignedHead(
        **{**anchor.__dict__, "public_key": keys.public_hex(other), "signature": ""}
    )
    forged = audit.SignedHead(
        **{**forged.__dict__, "signature": other.sign(forged.message()).hex()}
    )
    result = _verify(log, audit.default_trust(forged))
    assert not result.ok and "not the trust anchor" in (result.problem or "")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "no 'log'"),
        (b'{"log": "tweeling-audit", "count": "7"}', "'count' is missing or not a int"),
    ],
)
def test_a_malformed_anchor_is_named(content: bytes, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as raised:
        audit.SignedHead.from_json(content, "--anchor head.json")
    assert str(raised.value).startswith("--anchor head.json: ")


def test_export_is_json_lines_in_order(log: Database) -> None:
    with log.read() as conn:
        lines = list(audit.export_lines(conn))
    entries = [orjson.loads(line) for line in lines]
    assert [e["seq"] for e in entries] == list(range(1, 121))
    assert entries[5]["detail"] == {"i": 5}
    assert all(entries[i]["prev_hash"] == entries[i - 1]["hash"] for i in range(1, 120))
