"""``tweeling audit verify | anchor | checkpoint`` as an operator runs them: a subprocess,
the database tampered with from outside, trust brought from files and arguments."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tweeling.access import keys

TWEELING = str(Path(sys.executable).with_name("tweeling"))


EVERY = 5  # the operator's rule: a checkpoint every 5 entries


def run(args: list[str], home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TWEELING_HOME": str(home),
        "COLUMNS": "200",
        "TWEELING_AUDIT_CHECKPOINT_ENTRIES": str(EVERY),
        **extra,
    }
    for name in ("TWEELING_DATABASE_URL", "TWEELING_AUDIT_KEY", "TWEELING_TOKEN"):
        if name not in extra:
            env.pop(name, None)
    return subprocess.run(
        [TWEELING, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A platform after init and a few organisations: a dozen entries or so."""
    home = tmp_path_factory.mktemp("cli") / "home"
    assert run(["init"], home).returncode == 0
    for i in range(9):
        r = run(["org", "create", f"Gemeente {i}", "--kind", "municipality"], home)
        assert r.returncode == 0, r.stderr
    return home


def _copy(home: Path, tmp_path: Path) -> Path:
    """A fresh copy of the platform for one test to damage."""
    copy = tmp_path / "home"
    (copy / "keys").mkdir(parents=True)
    source = sqlite3.connect(home / "tweeling.db")
    target = sqlite3.connect(copy / "tweeling.db")
    source.backup(target)
    source.close()
    target.close()
    for key in (home / "keys").iterdir():
        (copy / "keys" / key.name).write_bytes(key.read_bytes())
        (copy / "keys" / key.name).chmod(0o600)
    return copy


def _sql(home: Path, *statements: str) -> None:
    with sqlite3.connect(home / "tweeling.db") as conn:
        for statement in statements:
            conn.execute(statement)


def test_init_makes_the_audit_key_and_checkpoints_follow(home: Path) -> None:
    key = home / "keys" / "audit-signing.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(home / "tweeling.db") as conn:
        signed = [r[0] for r in conn.execute("SELECT seq FROM audit_checkpoints ORDER BY seq")]
        entries = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    assert entries >= 10 and signed == list(range(EVERY, entries + 1, EVERY))
    r = run(["audit", "verify"], home)
    assert r.returncode == 0, r.stderr
    assert f"{entries} entries, {len(signed)} signed checkpoints" in r.stdout


def test_anchor_then_truncate(home: Path, tmp_path: Path) -> None:
    home = _copy(home, tmp_path)
    anchor = tmp_path / "head.json"
    r = run(["audit", "anchor", "-o", str(anchor)], home)
    assert r.returncode == 0, r.stderr
    head = json.loads(anchor.read_text())
    assert set(head) >= {"count", "hash", "at", "signature", "public_key"}
    r = run(["audit", "verify", "--anchor", str(anchor)], home)
    assert r.returncode == 0 and f"signed head of {head['count']}" in r.stdout
    last = (head["count"] - 1) // EVERY * EVERY  # the automatic checkpoint before the anchor
    _sql(
        home,
        f"DELETE FROM audit_log WHERE seq > {last}",
        f"DELETE FROM audit_checkpoints WHERE seq > {last}",
        f"UPDATE audit_head SET seq = {last}, checkpoint_seq = {last}, "
        f"hash = (SELECT hash FROM audit_log WHERE seq = {last})",
    )
    assert run(["audit", "verify"], home).returncode == 0  # what the anchor is for
    r = run(["audit", "verify", "--anchor", str(anchor)], home)
    assert r.returncode == 1
    assert f"damaged at entry {last + 1}" in r.stderr and "removed from the end" in r.stderr


@pytest.mark.parametrize(
    ("statement", "words"),
    [
        ("DELETE FROM audit_checkpoints", "checkpoints were deleted"),
        ("DELETE FROM audit_checkpoints WHERE seq = 5", "checkpoint 5, which checkpoint 10"),
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4", "changed"),
    ],
    ids=["all-checkpoints", "one-checkpoint", "changed-row"],
)
def test_damage_fails_verification(home: Path, tmp_path: Path, statement: str, words: str) -> None:
    home = _copy(home, tmp_path)
    _sql(home, statement)
    r = run(["audit", "verify"], home)
    assert r.returncode == 1 and words in r.stderr


def test_trust_comes_from_outside_the_database(home: Path, tmp_path: Path) -> None:
    home = _copy(home, tmp_path)
    # the operator trusts another key only (say, another platform's): nothing verifies
    other = keys.public_hex(Ed25519PrivateKey.generate())
    r = run(["audit", "verify", "--public-key", other], home)
    assert r.returncode == 1 and "not the trust anchor" in r.stderr
    own = keys.public_hex(keys.read_private_key(home / "keys" / "audit-signing.pem"))
    assert (
        run(["audit", "verify", "--public-key", own, "--public-key", other], home).returncode == 0
    )
    (home / "keys" / "audit-signing.pem").unlink()
    r = run(["audit", "verify"], home)
    assert r.returncode == 5 and "no trust anchor" in r.stderr
    r = run(["audit", "verify", "--public-key", "xyz"], home)
    assert r.returncode == 2 and "--public-key 'xyz'" in r.stderr
    (tmp_path / "bad.json").write_text("{}")
    r = run(["audit", "verify", "--anchor", str(tmp_path / "bad.json")], home)
    assert r.returncode == 2 and "bad.json: not a signed audit head" in r.stderr
    r = run(["audit", "verify", "--anchor", str(tmp_path / "missing.json")], home)
    assert r.returncode == 2 and "cannot read it" in r.stderr
    assert "Traceback" not in r.stderr
