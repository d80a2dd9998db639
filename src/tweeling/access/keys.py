"""The platform's Ed25519 signing key: made once, kept beside the database, public part stored.

The private key lives in a file (``$TWEELING_HOME/keys/platform-ed25519.pem`` unless
``TWEELING_PLATFORM_KEY`` names another), readable by its owner only. Its public key is
recorded in the database so anyone holding a copy of the database can check signatures.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import Connection, insert, select

from tweeling.settings import StorageSettings
from tweeling.storage.schema import platform_keys
from tweeling.twin.twins import now


def key_path(settings: StorageSettings | None = None) -> Path:
    configured = os.environ.get("TWEELING_PLATFORM_KEY")
    if configured:
        return Path(configured)
    return (settings or StorageSettings()).home / "keys" / "platform-ed25519.pem"


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def load_or_create(conn: Connection, path: Path | None = None) -> Ed25519PrivateKey:
    """The platform key, created on first use, with its public key registered."""
    path = path or key_path()
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        key = loaded
    else:
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    public = public_hex(key)
    known = conn.execute(
        select(platform_keys.c.id).where(platform_keys.c.public_key == public)
    ).first()
    if known is None:
        conn.execute(insert(platform_keys).values(public_key=public, created_at=now()))
    return key


def registered_public_keys(conn: Connection) -> dict[str, Ed25519PublicKey]:
    rows = conn.execute(select(platform_keys.c.public_key))
    return {hexkey: Ed25519PublicKey.from_public_bytes(bytes.fromhex(hexkey)) for (hexkey,) in rows}
