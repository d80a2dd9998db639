"""App packages: a reproducible archive of an app folder, its content hash and signature.

A package (``.twapp``) is a zip file. Its content hash names the app's code and data whatever
the zip encoding (``package_content``: an injective encoding of every file's path and SHA-256);
the publisher signs ``tweeling-app/2:<content hash>`` with an Ed25519 key, and the signature,
the scheme, the public key and the publisher travel in the archive as
``tweeling-signature.json`` (not part of the content). Packages signed under the deprecated
scheme 1 still verify, flagged ``deprecated``. Building is deterministic: the same folder gives
the same bytes.

Reading never trusts the archive: the central directory is checked before anything is
decompressed (entry count, declared total size, compression ratio, names, no encryption, only
stored or deflated entries), and each entry is read with a bounded read, so a header that lies
about a size cannot make the platform unpack more than the cap
(``TWEELING_MAX_PACKAGE_UNPACKED_MB``, default 512).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import Connection, insert, select

from tweeling.access.keys import public_hex
from tweeling.apps import package_cache
from tweeling.apps.check import check_app
from tweeling.apps.manifest import MANIFEST, Manifest, parse_manifest
from tweeling.apps.package_content import (
    LEGACY_SCHEME,
    SCHEME,
    SCHEMES,
    check_names,
    content_hash,
    file_digests,
    signed_message,
)
from tweeling.errors import InputFileError, InvalidInput, NotConfigured
from tweeling.settings import StoreSettings
from tweeling.storage.db import clock_of
from tweeling.storage.schema import app_packages

SIGNATURE = "tweeling-signature.json"
SUFFIX = ".twapp"
MAX_ENTRIES = 10_000
MAX_RATIO = 200  # uncompressed : compressed, for entries over RATIO_FLOOR
RATIO_FLOOR = 1 << 20
MAX_SIGNATURE_BYTES = 64 << 10
_SKIP_PARTS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv"}
_SKIP_SUFFIXES = (".pyc", ".pyo", SUFFIX)
_EPOCH = (1980, 1, 1, 0, 0, 0)
_HEX = re.compile(r"[0-9a-f]+")
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


PackageLimits = StoreSettings  # the old name of the store's settings


def max_unpacked_bytes() -> int:
    try:
        return PackageLimits().max_package_unpacked_mb << 20
    except ValidationError:
        raise NotConfigured(
            "TWEELING_MAX_PACKAGE_UNPACKED_MB must be a whole number of megabytes, 1 or more"
        ) from None


@dataclass(frozen=True)
class Package:
    manifest: Manifest
    content_hash: str
    archive: bytes
    signature: dict[str, Any] | None
    digests: Mapping[str, str] = field(default_factory=dict)  # each file's SHA-256, by path
    scheme: str = SCHEME  # how content_hash was computed (and, when signed, what was signed)

    @property
    def signed(self) -> bool:
        return self.signature is not None

    @property
    def deprecated(self) -> bool:
        """Signed under the old, deprecated content-hash scheme: publishers should re-sign."""
        return self.signed and self.scheme == LEGACY_SCHEME


def _files(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if _SKIP_PARTS.intersection(relative.parts) or path.name.endswith(_SKIP_SUFFIXES):
            continue
        if path.is_symlink():  # it could bring in any file of the publisher's machine
            raise InputFileError(path, "a link; a package holds plain files only")
        if path.is_file() and path.name != SIGNATURE:
            files[relative.as_posix()] = path.read_bytes()
    check_names(files, folder)
    return files


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
    digests = file_digests(files)
    digest = content_hash(digests)
    signature = None
    if key is not None:
        signature = {
            "scheme": SCHEME,
            "algorithm": "Ed25519",
            "publisher": report.manifest.publisher,
            "public_key": public_hex(key),
            "content_hash": digest,
            "signature": key.sign(signed_message(digest)).hex(),
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
    return Package(report.manifest, digest, buffer.getvalue(), signature, digests)


def _check_directory(entries: list[zipfile.ZipInfo], source: str, limit: int) -> None:
    """Refuse an archive by its central directory alone, before anything is decompressed."""
    if len(entries) > MAX_ENTRIES:
        raise InputFileError(
            source, f"the package has {len(entries)} entries; at most {MAX_ENTRIES} are accepted"
        )
    total = 0
    for entry in entries:
        name = entry.filename
        if entry.orig_filename != name:  # zipfile cut the stored name at a NUL byte
            raise InputFileError(
                source, f"unsafe file name {entry.orig_filename!r} in the package: a NUL byte"
            )
        if entry.flag_bits & 0x1:
            raise InputFileError(source, f"{name!r} is encrypted; packages are not")
        if entry.compress_type not in _METHODS:
            raise InputFileError(
                source,
                f"{name!r} uses compression method {entry.compress_type}; only stored "
                "or deflated entries are accepted",
            )
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise InputFileError(
                source, f"{name!r} claims a compression ratio over {MAX_RATIO}:1 (a zip bomb?)"
            )
        total += entry.file_size
    if total > limit:
        raise InputFileError(
            source,
            f"the package unpacks to {total >> 20} MB; at most {limit >> 20} MB are accepted "
            "(TWEELING_MAX_PACKAGE_UNPACKED_MB)",
        )
    folders = [e.filename.rstrip("/") for e in entries if e.filename.endswith("/")]
    check_names([e.filename for e in entries if not e.filename.endswith("/")], source)
    check_names(folders, source)


def _entry(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, source: str) -> bytes:
    """An entry's bytes, never more than its header declares (the read itself is bounded)."""
    with zf.open(entry) as handle:
        data = handle.read(entry.file_size + 1)
    if len(data) != entry.file_size:
        raise InputFileError(source, f"{entry.filename!r} is not the size its header declares")
    return data


def _entries(zf: zipfile.ZipFile, source: str) -> dict[str, bytes]:
    """The package's files (signature included) after the directory checks, by name."""
    entries = zf.infolist()
    _check_directory(entries, source, max_unpacked_bytes())
    found: dict[str, bytes] = {}
    for entry in entries:
        if entry.filename.endswith("/"):
            continue
        if entry.filename == SIGNATURE and entry.file_size > MAX_SIGNATURE_BYTES:
            raise InputFileError(source, f"{SIGNATURE} is larger than {MAX_SIGNATURE_BYTES} bytes")
        found[entry.filename] = _entry(zf, entry, source)
    return found


def _unzipped(archive: bytes, source: str) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            return _entries(zf, source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise InputFileError(source, f"not a Tweeling app package: {exc}") from None


def read(archive: bytes, source: str = "package") -> Package:
    """Open a package: every file listed, the content hash recomputed, the signature checked.
    ``source`` names the package in every message (never a server's temporary path)."""
    files = _unzipped(archive, source)
    raw_signature = files.pop(SIGNATURE, None)
    if MANIFEST not in files:
        raise InputFileError(source, f"the package holds no {MANIFEST}")
    import tomllib

    try:
        manifest = parse_manifest(tomllib.loads(files[MANIFEST].decode("utf-8")), source)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(source, f"{MANIFEST} is not valid TOML: {exc}") from None
    digests = file_digests(files)
    if raw_signature is None:
        return Package(manifest, content_hash(digests), archive, None, digests)
    signature = parse_signature(raw_signature, source)
    scheme = str(signature.get("scheme", LEGACY_SCHEME))
    digest = content_hash(digests, scheme)
    verify_signature(signature, digest, source)
    return Package(manifest, digest, archive, signature, digests, scheme)


def read_path(path: Path, source: str | None = None) -> Package:
    """Open a package file without loading it whole first: its size and central directory
    are checked from the file, and only then are its bytes read (and read as :func:`read`).
    ``source`` is what messages call it (say, the uploaded file's name); the path otherwise."""
    label = source or str(path)
    limit = max_unpacked_bytes()
    try:
        if path.stat().st_size > limit:
            raise InputFileError(
                label,
                f"the package is larger than {limit >> 20} MB (TWEELING_MAX_PACKAGE_UNPACKED_MB)",
            )
        with zipfile.ZipFile(path) as zf:
            _check_directory(zf.infolist(), label, limit)
        with path.open("rb") as handle:
            archive = handle.read(limit + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise InputFileError(label, f"not a Tweeling app package: {exc}") from None
    except OSError as exc:
        raise InputFileError(label, f"cannot be read ({exc.strerror or 'I/O error'})") from None
    if len(archive) > limit:
        raise InputFileError(label, "the package grew while it was read")
    return read(archive, label)


def parse_signature(raw: bytes, source: str) -> dict[str, Any]:
    """The signature file as a dict of the expected shape, or a message saying what is wrong."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputFileError(source, f"{SIGNATURE} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InputFileError(source, f"{SIGNATURE} is not a JSON object")
    scheme = value.get("scheme", LEGACY_SCHEME)
    if scheme not in SCHEMES:
        raise InputFileError(
            source, f"{SIGNATURE}: unknown scheme {scheme!r} (known: {', '.join(SCHEMES)})"
        )
    if value.get("algorithm") != "Ed25519":
        raise InputFileError(source, f"{SIGNATURE}: 'algorithm' must be \"Ed25519\"")
    for name, length in (("public_key", 64), ("signature", 128), ("content_hash", 64)):
        given = value.get(name)
        if not isinstance(given, str) or len(given) != length or not _HEX.fullmatch(given):
            raise InputFileError(
                source, f"{SIGNATURE}: {name!r} must be a string of {length} lowercase hex digits"
            )
    if not isinstance(value.get("publisher", ""), str):
        raise InputFileError(source, f"{SIGNATURE}: 'publisher' must be a string")
    return value


def verify_signature(signature: dict[str, Any], digest: str, source: str) -> None:
    """``signature`` (as :func:`parse_signature` returns it) signs ``digest`` in its scheme."""
    if signature.get("content_hash") != digest:
        raise InputFileError(
            source,
            "the content does not match its signature: the package was changed after signing "
            f"(signed {str(signature.get('content_hash'))[:12]}…, found {digest[:12]}…)",
        )
    message = signed_message(digest, str(signature.get("scheme", LEGACY_SCHEME)))
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(signature["public_key"])))
        public.verify(bytes.fromhex(str(signature["signature"])), message)
    except (KeyError, ValueError, InvalidSignature):
        raise InputFileError(source, "the package's signature is not valid") from None


def extract(package: Package, folder: Path) -> Path:
    """The package's files in ``folder/<content hash>``, read-only, and verified against the
    package's own listing before every use (an altered copy is discarded and extracted again)."""

    def write(partial: Path) -> None:
        for name, data in _unzipped(
            package.archive, f"package {package.content_hash[:12]}"
        ).items():
            if name == SIGNATURE:
                continue
            path = partial / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    return package_cache.materialise(folder, package.content_hash, package.digests, write)


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
            uploaded_at=clock_of(conn).now(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def load(conn: Connection, package_id: int) -> Package:
    """A stored package, read again (so verified again) and checked against its stored hash."""
    row = conn.execute(
        select(app_packages.c.archive, app_packages.c.content_hash).where(
            app_packages.c.id == package_id
        )
    ).first()
    if row is None:
        raise InvalidInput(f"no app package {package_id}")
    label = f"package {row.content_hash[:12]}"
    package = read(bytes(row.archive), label)
    if package.content_hash == row.content_hash:
        return package
    if not package.signed and content_hash(package.digests, LEGACY_SCHEME) == row.content_hash:
        return replace(package, content_hash=row.content_hash, scheme=LEGACY_SCHEME)  # stored so
    raise InputFileError(label, "the stored archive no longer matches its content hash")


def from_path(path: Path, key: Ed25519PrivateKey | None = None) -> Package:
    """An app folder (built on the fly, unsigned unless a key is given) or a package file."""
    if path.is_dir():
        return build(path, key)
    if not path.is_file():
        raise InputFileError(path, "no such app folder or package file")
    return read_path(path)
