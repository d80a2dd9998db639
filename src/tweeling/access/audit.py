"""The audit log: append-only, hash-chained, with checkpoints signed by the platform key.

Each entry's hash covers its content and the previous entry's hash, so changing, removing,
inserting or reordering entries breaks the chain at the first entry touched. Every
``CHECKPOINT_EVERY`` entries the platform key signs (sequence number, hash): someone who can
write to the database but has no key cannot rewrite history before the latest checkpoint,
even by recomputing every hash after the change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, CursorResult, insert, select, text, update

from tweeling.access.keys import public_hex, registered_public_keys
from tweeling.storage.schema import audit_checkpoints, audit_head, audit_log

CHECKPOINT_EVERY = 50
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEvent:
    """Something security-relevant that happened: who, in which organisation, did what to
    what, and how it ended (success, denied, failure)."""

    actor: str
    action: str
    outcome: str = "success"
    organisation: str | None = None
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def acted(
    principal: Any, action: str, target: str, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """The event of ``principal`` (a person acting for an organisation) doing ``action``."""
    return AuditEvent(
        principal.actor,
        action,
        organisation=principal.org.name,
        target=target,
        detail=detail or {},
    )


def entry_hash(
    seq: int,
    at: str,
    actor: str,
    organisation: str | None,
    action: str,
    target: str | None,
    outcome: str,
    detail: str,
    prev_hash: str,
) -> str:
    payload = orjson.dumps(
        [seq, at, actor, organisation, action, target, outcome, detail, prev_hash]
    )
    return hashlib.sha256(payload).hexdigest()


def _checkpoint_message(seq: int, entry: str) -> bytes:
    return f"tweeling-audit-checkpoint:{seq}:{entry}".encode()


def record(conn: Connection, event: AuditEvent, signer: Ed25519PrivateKey | None = None) -> int:
    """Append one entry (in the caller's transaction); returns its sequence number."""
    # Taking the next number is a write, so concurrent writers queue here, not fork the chain.
    head = conn.execute(
        update(audit_head)
        .where(audit_head.c.id == 1)
        .values(seq=audit_head.c.seq + 1)
        .returning(audit_head.c.seq, audit_head.c.hash)
    ).first()
    if head is None:
        conn.execute(insert(audit_head).values(id=1, seq=1, hash=GENESIS))
        seq, prev = 1, GENESIS
    else:
        seq, prev = int(head[0]), str(head[1])
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    detail = orjson.dumps(event.detail, option=orjson.OPT_SORT_KEYS).decode()
    digest = entry_hash(
        seq,
        at,
        event.actor,
        event.organisation,
        event.action,
        event.target,
        event.outcome,
        detail,
        prev,
    )
    conn.execute(
        insert(audit_log).values(
            seq=seq,
            at=at,
            actor=event.actor,
            organisation=event.organisation,
            action=event.action,
            target=event.target,
            outcome=event.outcome,
            detail=detail,
            prev_hash=prev,
            hash=digest,
        )
    )
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=digest))
    if signer is not None and seq % CHECKPOINT_EVERY == 0:
        checkpoint(conn, signer, seq, digest)
    return seq


def checkpoint(
    conn: Connection, signer: Ed25519PrivateKey, seq: int | None = None, digest: str | None = None
) -> int | None:
    """Sign the entry at ``seq`` (default: the newest). Returns the signed sequence number."""
    if seq is None or digest is None:
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
        if row is None:
            return None
        seq, digest = int(row[0]), str(row[1])
    exists = conn.execute(
        select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == seq)
    ).first()
    if exists:
        return seq
    conn.execute(
        insert(audit_checkpoints).values(
            seq=seq,
            hash=digest,
            public_key=public_hex(signer),
            signature=signer.sign(_checkpoint_message(seq, digest)).hex(),
            at=datetime.now(UTC).isoformat(timespec="microseconds"),
        )
    )
    return seq


@dataclass
class Verification:
    ok: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None
    problem: str | None = None


def _rows(conn: Connection) -> CursorResult[Any]:
    return conn.execute(
        text(
            "SELECT seq, at, actor, organisation, action, target, outcome, detail, "
            "prev_hash, hash FROM audit_log ORDER BY seq"
        ),
        execution_options={"stream_results": True, "yield_per": 2000},
    )


def verify(conn: Connection) -> Verification:
    """Walk the whole chain and every checkpoint; report the first entry that is wrong."""
    with closing(_rows(conn)) as rows:
        return _verify(conn, rows)


def _verify(conn: Connection, rows: Iterable[Any]) -> Verification:
    prev = GENESIS
    expected = 1
    hashes: dict[int, str] = {}
    count = 0
    for row in rows:
        seq = int(row[0])
        if seq != expected:
            what = "is missing" if seq > expected else "appears twice or out of place"
            return Verification(False, count, 0, expected, f"entry {expected} {what}")
        if row[8] != prev:
            return Verification(
                False,
                count,
                0,
                seq,
                f"entry {seq} does not follow entry {seq - 1}: entries were removed, inserted "
                "or reordered here",
            )
        recomputed = entry_hash(seq, *row[1:9])
        if recomputed != row[9]:
            return Verification(
                False, count, 0, seq, f"entry {seq} was changed after it was written"
            )
        hashes[seq] = row[9]
        prev = row[9]
        expected += 1
        count += 1
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    last = expected - 1
    if head is not None and (int(head[0]) != last or head[1] != prev):
        return Verification(
            False,
            count,
            0,
            min(int(head[0]), last + 1),
            f"the log ends at entry {last} but its head says {int(head[0])}: "
            "entries were removed from the end",
        )
    keys = registered_public_keys(conn)
    checked = 0
    for cp in conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings():
        seq = int(cp["seq"])
        key = keys.get(cp["public_key"])
        if key is None:
            return Verification(
                False, count, checked, seq, f"checkpoint {seq} is signed by an unknown key"
            )
        try:
            key.verify(bytes.fromhex(cp["signature"]), _checkpoint_message(seq, cp["hash"]))
        except (InvalidSignature, ValueError):
            return Verification(False, count, checked, seq, f"checkpoint {seq} has a bad signature")
        if seq not in hashes:
            return Verification(
                False, count, checked, seq, f"entry {seq}, signed in a checkpoint, is gone"
            )
        if hashes[seq] != cp["hash"]:
            return Verification(
                False,
                count,
                checked,
                seq,
                f"entries up to {seq} were rewritten: the signed checkpoint no longer matches",
            )
        checked += 1
    return Verification(True, count, checked)


_EXPORTED = (
    "seq",
    "at",
    "actor",
    "organisation",
    "action",
    "target",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)


def export_lines(conn: Connection) -> Iterator[bytes]:
    """Every entry as one JSON line, oldest first."""
    with closing(_rows(conn)) as rows:
        for row in rows:
            entry = dict(zip(_EXPORTED, row, strict=True))
            entry["detail"] = orjson.loads(entry["detail"])
            yield orjson.dumps(entry) + b"\n"
