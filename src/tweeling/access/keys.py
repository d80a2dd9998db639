"""The platform's Ed25519 keys: made once, kept in files beside the database, never in it.

The platform key (``$TWEELING_HOME/keys/platform-ed25519.pem`` unless
``TWEELING_PLATFORM_KEY`` names another) has its public key recorded in the database for
convenience. The audit signing key (``$TWEELING_HOME/keys/audit-signing.pem`` unless
``TWEELING_AUDIT_KEY`` names another) signs the audit log's checkpoints; its public key is
the trust anchor a verifier brings from outside the database, so it is looked up only in
the key file or given by the operator — a public key stored in the database would be
whatever someone who rewrote the database put there. Both files are readable by their
owner only.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import Connection, insert, select

from tweeling.errors import NotConfigured
from tweeling.settings import StorageSettings, current
from tweeling.storage.db import clock_of
from tweeling.storage.schema import platform_keys


def key_path(settings: StorageSettings | None = None) -> Path:
    configured = current().access.platform_key
    if configured:
        return configured
    return (settings or current().storage).home / "keys" / "platform-ed25519.pem"


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def audit_key_path() -> Path:
    configured = current().audit.audit_key
    return configured if configured else current().storage.home / "keys" / "audit-signing.pem"


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at ``path``."""
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise NotConfigured(f"{path}: cannot read the signing key ({exc})") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise NotConfigured(f"{path} does not hold an Ed25519 private key")
    return loaded


def _load_or_make(path: Path) -> Ed25519PrivateKey:
    """The key in ``path``; a new one written there (mode 0600) when the file is missing.

    The new key is written to a private temporary file and linked into place, so two
    processes starting at once end up with the same key and nobody reads a half-written file.
    """
    if path.exists():
        return read_private_key(path)
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return read_private_key(path)  # another process made it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return key


_audit_signers: dict[Path, Ed25519PrivateKey] = {}
_audit_lock = threading.Lock()


def audit_signer(path: Path | None = None) -> Ed25519PrivateKey:
    """The audit signing key (made on first use), read once per process and path."""
    path = (path or audit_key_path()).absolute()
    with _audit_lock:
        key = _audit_signers.get(path)
        if key is None:
            key = _audit_signers[path] = _load_or_make(path)
        return key


def audit_public_key(path: Path | None = None) -> str | None:
    """The public half of the audit key in its file, or None when there is no such file."""
    path = path or audit_key_path()
    return public_hex(read_private_key(path)) if path.exists() else None


def platform_public_key() -> str | None:
    """The platform key's public half, read from its file (it signed checkpoints before
    the audit key existed), or None when there is no such file."""
    path = key_path()
    return public_hex(read_private_key(path)) if path.exists() else None


def load_or_create(conn: Connection, path: Path | None = None) -> Ed25519PrivateKey:
    """The platform key, created on first use, with its public key registered; the audit
    signing key is made beside it (``tweeling init`` calls this)."""
    key = _load_or_make(path or key_path())
    audit_signer()
    public = public_hex(key)
    known = conn.execute(
        select(platform_keys.c.id).where(platform_keys.c.public_key == public)
    ).first()
    if known is None:
        conn.execute(
            insert(platform_keys).values(public_key=public, created_at=clock_of(conn).now())
        )
    return key
