"""The audit log: append-only, hash-chained, anchored by signed checkpoints.

Each entry's hash covers its content and the previous entry's hash, so changing, removing,
inserting or reordering entries breaks the chain at the first entry touched. Checkpoints are
made as entries are written — every N entries and at the first entry T minutes after the
last checkpoint (``TWEELING_AUDIT_CHECKPOINT_ENTRIES`` / ``_MINUTES``) — and signed with the
audit key, which lives in a file and never in the database (:mod:`tweeling.access.keys`).
Each checkpoint signs (sequence number, hash, time, the previous checkpoint, the rule it
was made under), so the checkpoints form a chain of their own: a deleted checkpoint is named
by the next one, and a log whose unsigned tail is longer than the rule allows had its last
checkpoints deleted. The verifier takes its trust — the audit public key, or a signed head
an operator kept elsewhere (``tweeling audit anchor``) — from outside the database, so
someone who can rewrite the database can neither forge a checkpoint nor truncate the log
behind an operator's anchor unnoticed.

Anonymous callers' denials are counted per hour, action and target (``audit_denial_counts``)
with one entry for the first of each, so probing without credentials cannot grow the log
without bound; a signed-in principal's denials stay one entry each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, CursorResult, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tweeling import settings
from tweeling.access.keys import (
    audit_key_path,
    audit_public_key,
    audit_signer,
    platform_public_key,
    public_hex,
)
from tweeling.errors import InvalidInput, NotConfigured
from tweeling.storage.db import clock_of
from tweeling.storage.schema import audit_checkpoints, audit_denial_counts, audit_head, audit_log

GENESIS = "0" * 64


class AuditOutcome(StrEnum):
    """How an audited action ended."""

    success = "success"
    denied = "denied"  # the policy point or a lockout refused it
    failure = "failure"  # it was tried and did not work (a wrong password, a failed run)


@dataclass(frozen=True)
class AuditEvent:
    """Something security-relevant that happened: who, in which organisation, did what to
    what, and how it ended (success, denied, failure)."""

    actor: str
    action: str
    outcome: str = AuditOutcome.success
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


@dataclass(frozen=True)
class Policy:
    """When checkpoints are due: every ``entries`` entries, or at the first entry written
    ``minutes`` or more after the last checkpoint."""

    entries: int
    minutes: float


def policy() -> Policy:
    audit = settings.current().audit
    return Policy(audit.audit_checkpoint_entries, audit.audit_checkpoint_minutes)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _due(seq: int, at: str, last_seq: int, last_at: str | None, rule: Policy) -> bool:
    """Whether the entry (``seq``, ``at``) must be signed, the last checkpoint being
    (``last_seq``, ``last_at``); the verifier asks the same question of every unsigned entry."""
    if seq - last_seq >= rule.entries or last_at is None:
        return True
    elapsed = datetime.fromisoformat(at) - datetime.fromisoformat(last_at)
    return elapsed >= timedelta(minutes=rule.minutes)


@dataclass(frozen=True)
class SignedHead:
    """A signed checkpoint: what ``audit_checkpoints`` holds and ``tweeling audit anchor``
    writes to a file (a transparency-log style signed tree head)."""

    seq: int
    hash: str
    at: str
    prev_seq: int | None
    every_entries: int | None
    every_minutes: float | None
    public_key: str
    signature: str

    @property
    def legacy(self) -> bool:
        """Made before revision 0012: signs only (sequence number, hash)."""
        return self.prev_seq is None

    def message(self) -> bytes:
        if self.legacy:
            return f"tweeling-audit-checkpoint:{self.seq}:{self.hash}".encode()
        return (
            f"tweeling-audit-checkpoint:2:{self.seq}:{self.hash}:{self.at}:{self.prev_seq}:"
            f"{self.every_entries}:{self.every_minutes!r}"
        ).encode()

    def signed_by(self, trusted: frozenset[str]) -> str | None:
        """None when a key in ``trusted`` made the signature, else what is wrong."""
        if self.public_key not in trusted:
            return "is signed by a key that is not the trust anchor"
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            key.verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return "has a bad signature"
        return None

    def rule(self) -> Policy | None:
        if self.every_entries is None or self.every_minutes is None:
            return None
        return Policy(self.every_entries, self.every_minutes)

    def to_json(self) -> bytes:
        document = {"log": "tweeling-audit", "count": self.seq, **asdict(self)}
        del document["seq"]
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes, where: str) -> SignedHead:
        """A signed head written by ``tweeling audit anchor``; ``where`` names it in errors."""
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{where}: not a signed audit head (not JSON: {exc})") from exc
        if not isinstance(document, dict) or document.get("log") != "tweeling-audit":
            raise InvalidInput(f"{where}: not a signed audit head (no 'log': 'tweeling-audit')")
        fields: dict[str, tuple[type, ...]] = {
            "count": (int,),
            "hash": (str,),
            "at": (str,),
            "prev_seq": (int,),
            "every_entries": (int,),
            "every_minutes": (float, int),
            "public_key": (str,),
            "signature": (str,),
        }
        for name, types in fields.items():
            value = document.get(name)
            if not isinstance(value, types) or isinstance(value, bool):
                raise InvalidInput(
                    f"{where}: field {name!r} is missing or not a {types[0].__name__}"
                )
        return cls(
            seq=document["count"],
            hash=document["hash"],
            at=document["at"],
            prev_seq=document["prev_seq"],
            every_entries=document["every_entries"],
            every_minutes=float(document["every_minutes"]),
            public_key=document["public_key"],
            signature=document["signature"],
        )


def _sign(
    conn: Connection, signer: Ed25519PrivateKey, seq: int, digest: str, at: str, prev: int
) -> SignedHead:
    """Sign entry ``seq`` as the checkpoint after ``prev``, store it and move the head's
    checkpoint to it (the caller holds the head row)."""
    rule = policy()
    unsigned = SignedHead(seq, digest, at, prev, rule.entries, rule.minutes, public_hex(signer), "")
    head = replace(unsigned, signature=signer.sign(unsigned.message()).hex())
    conn.execute(insert(audit_checkpoints).values(**asdict(head)))
    conn.execute(
        update(audit_head).where(audit_head.c.id == 1).values(checkpoint_seq=seq, checkpoint_at=at)
    )
    return head


def record(conn: Connection, event: AuditEvent, signer: Ed25519PrivateKey | None = None) -> int:
    """Append one entry (in the caller's transaction), signing a checkpoint when one is due
    (with ``signer``, default the audit key); returns its sequence number."""
    # Taking the next number is a write, so concurrent writers queue here, not fork the chain.
    head = conn.execute(
        update(audit_head)
        .where(audit_head.c.id == 1)
        .values(seq=audit_head.c.seq + 1)
        .returning(
            audit_head.c.seq,
            audit_head.c.hash,
            audit_head.c.checkpoint_seq,
            audit_head.c.checkpoint_at,
        )
    ).first()
    at = _stamp(clock_of(conn).now())
    if head is None:
        conn.execute(
            insert(audit_head).values(id=1, seq=1, hash=GENESIS, checkpoint_seq=0, checkpoint_at=at)
        )
        seq, prev, last_seq, last_at = 1, GENESIS, 0, at
    else:
        seq, prev, last_seq, last_at = int(head[0]), str(head[1]), int(head[2]), head[3]
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
    if _due(seq, at, last_seq, last_at, policy()):
        _sign(conn, signer or audit_signer(), seq, digest, at, last_seq)
    return seq


def checkpoint(conn: Connection, signer: Ed25519PrivateKey | None = None) -> SignedHead | None:
    """Sign the newest entry now (default key: the audit key); the existing checkpoint when
    it is signed already, None for an empty log."""
    head = conn.execute(
        update(audit_head)  # hold the head, so no entry slips in between
        .where(audit_head.c.id == 1)
        .values(seq=audit_head.c.seq)
        .returning(audit_head.c.seq, audit_head.c.hash, audit_head.c.checkpoint_seq)
    ).first()
    if head is None:
        return None
    seq, digest, last = int(head[0]), str(head[1]), int(head[2])
    existing = conn.execute(select(audit_checkpoints).where(audit_checkpoints.c.seq == seq)).first()
    if existing is not None:
        return _signed_head(existing._mapping)
    return _sign(conn, signer or audit_signer(), seq, digest, _stamp(clock_of(conn).now()), last)


def _signed_head(row: Any) -> SignedHead:
    return SignedHead(
        seq=int(row["seq"]),
        hash=row["hash"],
        at=row["at"],
        prev_seq=None if row["prev_seq"] is None else int(row["prev_seq"]),
        every_entries=row["every_entries"],
        every_minutes=None if row["every_minutes"] is None else float(row["every_minutes"]),
        public_key=row["public_key"],
        signature=row["signature"],
    )


def count_anonymous_denial(conn: Connection, action: str, target: str) -> None:
    """Count a denial of an anonymous caller; only the first per hour, action and target
    becomes an entry (with ``detail.counted``), so its number of rows has a bound that an
    anonymous prober cannot raise."""
    upsert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    hour = clock_of(conn).now().strftime("%Y-%m-%dT%H")
    statement = upsert(audit_denial_counts).values(hour=hour, action=action, target=target, count=1)
    count = conn.execute(
        statement.on_conflict_do_update(
            index_elements=["hour", "action", "target"],
            set_={"count": audit_denial_counts.c.count + 1},
        ).returning(audit_denial_counts.c.count)
    ).scalar_one()
    if count == 1:
        record(
            conn,
            AuditEvent(
                "anonymous",
                action,
                outcome=AuditOutcome.denied,
                target=target,
                detail={"counted": f"further anonymous denials this hour ({hour}h UTC)"},
            ),
        )


@dataclass(frozen=True)
class Trust:
    """What a verifier believes, brought from outside the database: the audit public keys
    (hex), keys that signed checkpoints before revision 0012, and an operator's signed head."""

    keys: frozenset[str]
    legacy_keys: frozenset[str] = frozenset()
    anchor: SignedHead | None = None


def default_trust(anchor: SignedHead | None = None) -> Trust:
    """The audit key file's public key (and the platform key file's, for checkpoints made
    before the audit key existed); with neither file, only the anchor's key."""
    audit_key = audit_public_key()
    legacy = platform_public_key()
    keys = frozenset({audit_key} if audit_key else ())
    if not keys and anchor is not None:
        keys = frozenset({anchor.public_key})
    if not keys:
        raise NotConfigured(
            f"no trust anchor: the audit key file {audit_key_path()} does not exist; give "
            "the audit public key (--public-key HEX) or a signed head (--anchor FILE)"
        )
    return Trust(keys, frozenset({legacy} if legacy else ()), anchor)


@dataclass
class Verification:
    ok: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None
    problem: str | None = None
    unsigned_tail: int = 0  # entries after the newest checkpoint
    anchored: int | None = None  # the operator's signed head, when one was given and holds


def _rows(conn: Connection) -> CursorResult[Any]:
    return conn.execute(
        text(
            "SELECT seq, at, actor, organisation, action, target, outcome, detail, "
            "prev_hash, hash FROM audit_log ORDER BY seq"
        ),
        execution_options={"stream_results": True, "yield_per": 2000},
    )


def own_trust() -> Trust:
    """What the platform itself trusts: the key it signs with (made if missing, as the next
    checkpoint would), which it reads from its file, never from the database."""
    legacy = platform_public_key()
    return Trust(frozenset({public_hex(audit_signer())}), frozenset({legacy} if legacy else ()))


def verify(conn: Connection, trust: Trust | None = None) -> Verification:
    """Walk the whole chain, every checkpoint, the unsigned tail and the operator's anchor;
    report the first thing that is wrong. Trust defaults to :func:`own_trust` (the platform
    checking itself); an operator brings :func:`default_trust` or keys of their own."""
    trust = trust or own_trust()
    checkpoints = [
        _signed_head(r)
        for r in conn.execute(
            select(audit_checkpoints).order_by(audit_checkpoints.c.seq)
        ).mappings()
    ]
    with closing(_rows(conn)) as rows:
        return _Verifier(trust, checkpoints).run(conn, rows)


class _Verifier:
    def __init__(self, trust: Trust, checkpoints: list[SignedHead]) -> None:
        self.trust = trust
        self.checkpoints = checkpoints
        self.last = checkpoints[-1] if checkpoints else None
        self.rule = (self.last.rule() if self.last else None) or policy()
        watched = {c.seq for c in checkpoints}
        if trust.anchor is not None:
            watched.add(trust.anchor.seq)
        self.watched = watched
        self.hashes: dict[int, str] = {}
        self.count = 0
        self.overdue: int | None = None  # first unsigned entry a checkpoint was due at

    def fail(self, seq: int | None, problem: str, checked: int = 0) -> Verification:
        return Verification(False, self.count, checked, seq, problem)

    def run(self, conn: Connection, rows: Iterable[Any]) -> Verification:
        problem = self._chain(rows)
        if problem is not None:
            return problem
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
        last = self.count
        if head is not None and (int(head[0]) != last or head[1] != self._last_hash):
            return self.fail(
                min(int(head[0]), last + 1),
                f"the log ends at entry {last} but its head says {int(head[0])}: "
                "entries were removed from the end",
            )
        checked, problem = self._checkpoints()
        if problem is not None:
            return problem
        if self.overdue is not None:
            since = f"checkpoint {self.last.seq}" if self.last else "the first entry"
            return self.fail(
                self.overdue,
                f"entry {self.overdue} should have been signed (the rule: every "
                f"{self.rule.entries} entries or {self.rule.minutes:g} minutes after {since}) "
                "but no checkpoint signs it: checkpoints were deleted (a log written before "
                "revision 0012 needs one 'tweeling audit checkpoint' first)",
                checked,
            )
        tail = last - (self.last.seq if self.last else 0)
        anchored = None
        if self.trust.anchor is not None:
            anchor = self.trust.anchor
            problem = self._anchor(anchor, last, checked)
            if problem is not None:
                return problem
            anchored = anchor.seq
        return Verification(True, self.count, checked, unsigned_tail=tail, anchored=anchored)

    def _chain(self, rows: Iterable[Any]) -> Verification | None:
        prev = GENESIS
        expected = 1
        ref_seq = self.last.seq if self.last else 0
        ref_at = self.last.at if self.last else None
        for row in rows:
            seq = int(row[0])
            if seq != expected:
                what = "is missing" if seq > expected else "appears twice or out of place"
                return self.fail(expected, f"entry {expected} {what}")
            if row[8] != prev:
                return self.fail(
                    seq,
                    f"entry {seq} does not follow entry {seq - 1}: entries were removed, "
                    "inserted or reordered here",
                )
            if entry_hash(seq, *row[1:9]) != row[9]:
                return self.fail(seq, f"entry {seq} was changed after it was written")
            if seq in self.watched:
                self.hashes[seq] = row[9]
            if seq > ref_seq:
                if ref_at is None:
                    ref_at = row[1]  # with no checkpoint, time runs from the first entry
                elif self.overdue is None and _due(seq, row[1], ref_seq, ref_at, self.rule):
                    self.overdue = seq
            prev = row[9]
            expected += 1
            self.count += 1
        self._last_hash = prev
        return None

    def _checkpoints(self) -> tuple[int, Verification | None]:
        checked = 0
        previous = 0
        for cp in self.checkpoints:
            trusted = self.trust.keys | (self.trust.legacy_keys if cp.legacy else frozenset())
            wrong = cp.signed_by(trusted)
            if wrong is not None:
                return checked, self.fail(cp.seq, f"checkpoint {cp.seq} {wrong}", checked)
            if not cp.legacy and cp.prev_seq != previous:
                if cp.prev_seq is not None and cp.prev_seq > previous:
                    problem = (
                        f"checkpoint {cp.prev_seq}, which checkpoint {cp.seq} follows, is gone"
                    )
                    return checked, self.fail(cp.prev_seq, problem, checked)
                problem = (
                    f"checkpoint {cp.seq} follows checkpoint {cp.prev_seq}, not {previous}: "
                    "checkpoints were inserted or moved"
                )
                return checked, self.fail(cp.seq, problem, checked)
            if cp.seq not in self.hashes:
                problem = f"entry {cp.seq}, signed in a checkpoint, is gone"
                return checked, self.fail(cp.seq, problem, checked)
            if self.hashes[cp.seq] != cp.hash:
                problem = (
                    f"entries up to {cp.seq} were rewritten: the signed checkpoint no longer "
                    "matches"
                )
                return checked, self.fail(cp.seq, problem, checked)
            previous = cp.seq
            checked += 1
        return checked, None

    def _anchor(self, anchor: SignedHead, last: int, checked: int) -> Verification | None:
        wrong = anchor.signed_by(self.trust.keys)
        if wrong is not None:
            return self.fail(anchor.seq, f"the signed head (anchor) {wrong}", checked)
        if anchor.seq > last:
            return self.fail(
                last + 1,
                f"the signed head (anchor) covers {anchor.seq} entries but the log has only "
                f"{last}: entries were removed from the end",
                checked,
            )
        if self.hashes.get(anchor.seq) != anchor.hash:
            return self.fail(
                anchor.seq,
                f"entries up to {anchor.seq} were rewritten since the signed head (anchor) "
                "was taken",
                checked,
            )
        return None


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
