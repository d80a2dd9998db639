"""The audit log detects every kind of tampering: change, removal, insertion, reordering,
rewriting with recomputed hashes, and forged checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Connection, text

from tweeling.access import audit, keys
from tweeling.access.audit import AuditEvent, record, verify
from tweeling.storage.db import Database


@pytest.fixture
def log(db: Database, tmp_path: Path) -> Database:
    """120 entries: checkpoints signed at 50 and 100."""
    with db.begin() as conn:
        signer = keys.load_or_create(conn, tmp_path / "key.pem")
        for i in range(120):
            record(
                conn,
                AuditEvent(f"user{i % 7}@example.nl", "thing.do", target=f"t:{i}", detail={"i": i}),
                signer,
            )
    return db


def _verify(db: Database) -> audit.Verification:
    with db.read() as conn:
        return verify(conn)


def test_intact_log_verifies(log: Database) -> None:
    result = _verify(log)
    assert result.ok, result.problem
    assert (result.entries, result.checkpoints) == (120, 2)


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


def test_export_is_json_lines_in_order(log: Database) -> None:
    with log.read() as conn:
        lines = list(audit.export_lines(conn))
    entries = [orjson.loads(line) for line in lines]
    assert [e["seq"] for e in entries] == list(range(1, 121))
    assert entries[5]["detail"] == {"i": 5}
    assert all(entries[i]["prev_hash"] == entries[i - 1]["hash"] for i in range(1, 120))
