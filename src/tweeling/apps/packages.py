"""App packages: a reproducible archive of an app folder, its content hash and signature.

A package (``.twapp``) is a zip file. Its content hash is the SHA-256 of a listing of every
file's path and SHA-256, so it names the app's code and data whatever the zip encoding; the
publisher signs ``tweeling-app:<content hash>`` with an Ed25519 key, and the signature, the
public key and the publisher travel in the archive as ``tweeling-signature.json`` (not part of
the content). Building is deterministic: the same folder gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, insert, select

from tweeling.access.keys import public_hex
from tweeling.apps.check import check_app
from tweeling.apps.manifest import MANIFEST, Manifest, parse_manifest
from tweeling.errors import InputFileError, InvalidInput
from tweeling.storage.schema import app_packages
from tweeling.twin.twins import now

SIGNATURE = "tweeling-signature.json"
SUFFIX = ".twapp"
_SKIP_PARTS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv"}
_SKIP_SUFFIXES = (".pyc", ".pyo", SUFFIX)
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    manifest: Manifest
    content_hash: str
    archive: bytes
    signature: dict[str, Any] | None

    @property
    def signed(self) -> bool:
        return self.signature is not None


def _files(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            path.is_file()
            and not _SKIP_PARTS.intersection(relative.parts)
            and not path.name.endswith(_SKIP_SUFFIXES)
            and path.name != SIGNATURE
        ):
            files[relative.as_posix()] = path.read_bytes()
    return files


def content_hash(files: dict[str, bytes]) -> str:
    listing = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    )
    return hashlib.sha256(listing.encode()).hexdigest()


def _message(digest: str) -> bytes:
    return f"tweeling-app:{digest}".encode()


def generate_key(path: Path) -> str:
    """A new Ed25519 publisher key at ``path`` (owner-only); returns its public key (hex)."""
    if path.exists():
        raise InvalidInput(f"{path} exists already; a key is never overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return public_hex(key)


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"not a readable private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputFileError(path, "not an Ed25519 private key")
    return key


def build(folder: Path, key: Ed25519PrivateKey | None = None) -> Package:
    """Check the app folder and archive it; signed when a key is given."""
    report = check_app(folder)
    files = _files(folder)
    digest = content_hash(files)
    signature = None
    if key is not None:
        signature = {
            "algorithm": "Ed25519",
            "publisher": report.manifest.publisher,
            "public_key": public_hex(key),
            "content_hash": digest,
            "signature": key.sign(_message(digest)).hex(),
        }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        if signature is not None:
            info = zipfile.ZipInfo(SIGNATURE, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, orjson.dumps(signature, option=orjson.OPT_SORT_KEYS))
    return Package(report.manifest, digest, buffer.getvalue(), signature)


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def read(archive: bytes, source: str = "package") -> Package:
    """Open a package: every file listed, the content hash recomputed, the signature checked."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            names = zf.namelist()
            bad = [n for n in names if not _safe_name(n)]
            if bad:
                raise InputFileError(source, f"unsafe path in the archive: {bad[0]!r}")
            files = {n: zf.read(n) for n in names if n != SIGNATURE and not n.endswith("/")}
            signature = orjson.loads(zf.read(SIGNATURE)) if SIGNATURE in names else None
    except (zipfile.BadZipFile, orjson.JSONDecodeError, KeyError) as exc:
        raise InputFileError(source, f"not a Tweeling app package: {exc}") from None
    if MANIFEST not in files:
        raise InputFileError(source, f"the package holds no {MANIFEST}")
    import tomllib

    try:
        manifest = parse_manifest(tomllib.loads(files[MANIFEST].decode("utf-8")), source)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(source, f"{MANIFEST} is not valid TOML: {exc}") from None
    digest = content_hash(files)
    if signature is not None:
        verify_signature(signature, digest, source)
    return Package(manifest, digest, archive, signature)


def verify_signature(signature: dict[str, Any], digest: str, source: str) -> None:
    if signature.get("content_hash") != digest:
        raise InputFileError(
            source,
            "the content does not match its signature: the package was changed after signing "
            f"(signed {str(signature.get('content_hash'))[:12]}…, found {digest[:12]}…)",
        )
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(signature["public_key"])))
        public.verify(bytes.fromhex(str(signature["signature"])), _message(digest))
    except (KeyError, ValueError, InvalidSignature):
        raise InputFileError(source, "the package's signature is not valid") from None


def extract(package: Package, folder: Path) -> Path:
    """The package's files under ``folder`` (once per content hash; reused after)."""
    target = folder / package.content_hash
    if (target / MANIFEST).exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    # a folder of its own per call: two job threads of one process may extract the same
    # package at once, and must not write into (or rename away) each other's half
    partial = Path(tempfile.mkdtemp(prefix=f".{package.content_hash}.", dir=folder))
    partial.chmod(0o755)  # as a plain mkdir would make it (mkdtemp makes it owner-only)
    with zipfile.ZipFile(io.BytesIO(package.archive)) as zf:
        for name in zf.namelist():
            if name == SIGNATURE or name.endswith("/"):
                continue
            path = partial / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(zf.read(name))
    try:
        partial.rename(target)
    except OSError:  # another process extracted it meanwhile
        import shutil

        shutil.rmtree(partial, ignore_errors=True)
    return target


def register(conn: Connection, package: Package, uploaded_by: str) -> int:
    """The package's row id, stored on first sight (a content hash is stored once)."""
    found = conn.execute(
        select(app_packages.c.id).where(app_packages.c.content_hash == package.content_hash)
    ).scalar()
    if found is not None:
        return int(found)
    result = conn.execute(
        insert(app_packages).values(
            app_id=package.manifest.id,
            version=package.manifest.version,
            content_hash=package.content_hash,
            manifest=package.manifest.model_dump(mode="json", by_alias=True),
            archive=package.archive,
            signature=package.signature,
            uploaded_by=uploaded_by,
            uploaded_at=now(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def load(conn: Connection, package_id: int) -> Package:
    row = conn.execute(
        select(app_packages.c.archive, app_packages.c.content_hash).where(
            app_packages.c.id == package_id
        )
    ).first()
    if row is None:
        raise InvalidInput(f"no app package {package_id}")
    return read(bytes(row.archive), f"package {row.content_hash[:12]}")


def from_path(path: Path, key: Ed25519PrivateKey | None = None) -> Package:
    """An app folder (built on the fly, unsigned unless a key is given) or a package file."""
    if path.is_dir():
        return build(path, key)
    if not path.is_file():
        raise InputFileError(path, "no such app folder or package file")
    return read(path.read_bytes(), str(path))
