"""Packages cannot be faked: an injective content hash (and the old, ambiguous one refused where
it is ambiguous), unsafe names refused at build and read, zip bombs refused from the central
directory, malformed signature files named, and an extracted package verified before use."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import stat
import struct
import tracemalloc
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from tests.cli.test_cli import run
from tweeling.access.keys import public_hex
from tweeling.apps import packages
from tweeling.apps.package_content import (
    LEGACY_SCHEME,
    SCHEME,
    content_hash,
    file_digests,
)
from tweeling.apps.scaffold import scaffold
from tweeling.errors import InputFileError
from tweeling.storage.db import Database
from tweeling.storage.schema import app_packages

# ---------------------------------------------------------------- helpers


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return scaffold("footprints", tmp_path / "src")


@pytest.fixture
def key(tmp_path: Path) -> Ed25519PrivateKey:
    packages.generate_key(tmp_path / "publisher.pem")
    return packages.load_key(tmp_path / "publisher.pem")


def _app_files(app: Path) -> dict[str, bytes]:
    return {
        p.relative_to(app).as_posix(): p.read_bytes()
        for p in sorted(app.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip holding exactly these entries, in this order (duplicates too)."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on a duplicate name: that is the point
        with zipfile.ZipFile(out, "w", method) as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = method
                zf.writestr(info, data)
    return out.getvalue()


def _legacy_signed(files: dict[str, bytes], signer: Ed25519PrivateKey) -> bytes:
    """A package signed the way packages were signed before scheme 2 (no "scheme" field, the
    ``sha256sum``-style listing, the ``tweeling-app:`` message)."""
    digest = content_hash(file_digests(files), LEGACY_SCHEME)
    signature = {
        "algorithm": "Ed25519",
        "publisher": "Gemeente Delft",
        "public_key": public_hex(signer),
        "content_hash": digest,
        "signature": signer.sign(f"tweeling-app:{digest}".encode()).hex(),
    }
    return _zip([*files.items(), (packages.SIGNATURE, orjson.dumps(signature))])


# ---------------------------------------------------------------- 1. the content hash

_names = st.text(min_size=1, max_size=12)  # any characters: newlines, controls, slashes
_file_sets = st.dictionaries(_names, st.binary(max_size=8), max_size=5)


@settings(max_examples=400, deadline=None)
@given(_file_sets, _file_sets)
@example({"a": b"1", "b": b"2"}, {f"a\n{hashlib.sha256(b'2').hexdigest()}  b": b"1"})
@example({"a": b""}, {"a": b"", "b": b""})
@example({}, {"": b""})
def test_distinct_file_sets_give_distinct_hashes(
    one: dict[str, bytes], other: dict[str, bytes]
) -> None:
    if one != other:
        assert content_hash(file_digests(one)) != content_hash(file_digests(other))
    else:
        assert content_hash(file_digests(one)) == content_hash(file_digests(other))


@settings(max_examples=200, deadline=None)
@given(_file_sets)
def test_the_hash_is_sha256_of_the_canonical_json_pairs(files: dict[str, bytes]) -> None:
    """Written from the definition with the standard library's JSON writer (RFC 8259, no
    whitespace, non-ASCII as UTF-8), not from our encoder: another implementation can check
    a package's hash."""
    pairs = sorted([name, hashlib.sha256(data).hexdigest()] for name, data in files.items())
    canonical = json.dumps(pairs, ensure_ascii=False, separators=(",", ":")).encode()
    assert content_hash(file_digests(files)) == hashlib.sha256(canonical).hexdigest()


def test_the_old_listing_collides_and_such_a_package_is_refused(
    app: Path, key: Ed25519PrivateKey
) -> None:
    files = _app_files(app)
    removed = b"def extra(): ...\n"  # a file a repacker wants gone
    genuine = {**files, "zz1": b"print('kept')\n", "zz2": removed}
    forged_name = f"zz1\n{hashlib.sha256(removed).hexdigest()}  zz2"
    forged = {**files, forged_name: b"print('kept')\n"}
    # the old scheme cannot tell them apart; the new one can
    old = content_hash(file_digests(genuine), LEGACY_SCHEME)
    assert old == content_hash(file_digests(forged), LEGACY_SCHEME)
    assert content_hash(file_digests(genuine)) != content_hash(file_digests(forged))

    signed = _legacy_signed(genuine, key)
    accepted = packages.read(signed, "old.twapp")
    assert accepted.deprecated and accepted.scheme == LEGACY_SCHEME
    assert accepted.content_hash == old

    with zipfile.ZipFile(io.BytesIO(signed)) as zf:
        signature = zf.read(packages.SIGNATURE)
    repacked = _zip([*forged.items(), (packages.SIGNATURE, signature)])
    with pytest.raises(InputFileError, match=r"old\.twapp: unsafe file name .*U\+000A"):
        packages.read(repacked, "old.twapp")


def test_new_packages_record_their_scheme_and_old_signatures_do_not_carry_over(
    app: Path, key: Ed25519PrivateKey
) -> None:
    signed = packages.build(app, key)
    assert signed.signature is not None and signed.signature["scheme"] == SCHEME
    assert not signed.deprecated
    with zipfile.ZipFile(io.BytesIO(signed.archive)) as zf:
        stored = orjson.loads(zf.read(packages.SIGNATURE))
    assert stored["scheme"] == SCHEME
    # A scheme-2 signature relabelled as scheme 1 does not verify: the scheme is signed.
    relabelled = {k: v for k, v in stored.items() if k != "scheme"}
    relabelled["content_hash"] = content_hash(signed.digests, LEGACY_SCHEME)
    files = [(n, d) for n, d in _unzip(signed.archive) if n != packages.SIGNATURE]
    with pytest.raises(InputFileError, match="signature is not valid"):
        packages.read(_zip([*files, (packages.SIGNATURE, orjson.dumps(relabelled))]))


def _unzip(archive: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


# ---------------------------------------------------------------- names

BAD_NAMES = [
    "a\nb.py",
    "a\rb.py",
    "tab\there",
    "bidi\u202etxt.py",
    "line\u2028sep",
    "back\\slash.py",
    "c:drive.py",
    "/etc/passwd",
    "../escape.py",
    "a/../../b.py",
    "a//b.py",
    "./a.py",
    "trailing.",
    "trailing /x.py",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_unsafe_names_are_refused_at_read(app: Path, name: str) -> None:
    archive = _zip([*_app_files(app).items(), (name, b"x = 1\n")])
    with pytest.raises(InputFileError, match=r"^upload\.twapp: unsafe file name"):
        packages.read(archive, "upload.twapp")


def test_a_nul_byte_in_a_stored_name_is_refused(app: Path) -> None:
    # zipfile cuts a name at a NUL when it reads it (and when it writes it): write a
    # placeholder and put the NUL into the stored bytes
    archive = _zip([*_app_files(app).items(), ("footprints/app.py_evil", b"x = 1\n")])
    raw = archive.replace(b"footprints/app.py_evil", b"footprints/app.py\x00evil")
    with pytest.raises(InputFileError, match="a NUL byte"):
        packages.read(raw)


@pytest.mark.parametrize("name", ["a\nb.py", "tab\there", "back\\slash.py", "c:drive.py"])
def test_unsafe_names_are_refused_at_build(app: Path, name: str) -> None:
    (app / name).write_text("x = 1\n")
    with pytest.raises(InputFileError, match="unsafe file name"):
        packages.build(app)


def test_links_are_not_packaged(app: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("the publisher's secret")
    (app / "data.txt").symlink_to(tmp_path / "secret")
    with pytest.raises(InputFileError, match="a link"):
        packages.build(app)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([("footprints/app.py", b"evil = 1\n")], "holds 'footprints/app.py' twice"),
        ([("Tweeling-App.toml", b"")], "differ only by case"),
        ([("footprints/caf\u00e9.py", b""), ("footprints/cafe\u0301.py", b"")], "normalisation"),
        ([("footprints/app.py/x", b"")], "both a file and a folder"),
        ([(packages.SIGNATURE, b"{}"), (packages.SIGNATURE, b"{}")], "twice"),
    ],
)
def test_names_that_clash_are_refused(
    app: Path, extra: list[tuple[str, bytes]], message: str
) -> None:
    archive = _zip([*_app_files(app).items(), *extra])
    with pytest.raises(InputFileError, match=message):
        packages.read(archive)


def test_case_twins_are_refused_at_build(app: Path) -> None:
    (app / "README.md").write_text("one")
    (app / "readme.md").write_text("two")
    with pytest.raises(InputFileError, match="differ only by case"):
        packages.build(app)


# ---------------------------------------------------------------- 2. zip bombs


def test_too_many_entries_are_refused_before_reading(app: Path) -> None:
    entries = [(f"d/{i}", b"") for i in range(packages.MAX_ENTRIES + 1)]
    with pytest.raises(InputFileError, match=r"has 100\d\d entries; at most 10000"):
        packages.read(_zip([*_app_files(app).items(), *entries]))


def test_the_unpacked_size_is_capped(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_MAX_PACKAGE_UNPACKED_MB", "1")
    big = os.urandom(1 << 20)  # incompressible: no ratio check involved
    archive = _zip([*_app_files(app).items(), ("data.bin", big)], zipfile.ZIP_STORED)
    with pytest.raises(InputFileError, match=r"unpacks to 1 MB; at most 1 MB"):
        packages.read(archive)
    monkeypatch.setenv("TWEELING_MAX_PACKAGE_UNPACKED_MB", "2")
    assert packages.read(archive).digests["data.bin"] == hashlib.sha256(big).hexdigest()


def test_a_high_compression_ratio_is_refused(app: Path) -> None:
    archive = _zip([*_app_files(app).items(), ("zeros.bin", bytes(10 << 20))])
    with pytest.raises(InputFileError, match=r"compression ratio over 200:1"):
        packages.read(archive)


def _patch_sizes(archive: bytes, name: str, size: int) -> bytes:
    """Make the headers of ``name`` lie: declare ``size`` uncompressed bytes."""
    data = bytearray(archive)
    encoded = name.encode()
    at = 0
    while (at := data.find(b"PK\x03\x04", at)) != -1:  # local headers
        length = struct.unpack_from("<H", data, at + 26)[0]
        if data[at + 30 : at + 30 + length] == encoded:
            struct.pack_into("<I", data, at + 22, size)
        at += 4
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:  # central directory
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + length] == encoded:
            struct.pack_into("<I", data, at + 24, size)
        at += 4
    return bytes(data)


def test_a_lying_size_header_cannot_make_it_unpack_more(app: Path) -> None:
    bomb = _zip([*_app_files(app).items(), ("bomb.bin", bytes(200 << 20))])
    lying = _patch_sizes(bomb, "bomb.bin", 100_000)  # ratio now looks modest
    tracemalloc.start()
    try:
        with pytest.raises(InputFileError, match="not a Tweeling app package"):
            packages.read(lying)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20  # 200 MB were in there; far less was ever unpacked


def test_encrypted_and_exotic_entries_are_refused(app: Path) -> None:
    plain = _zip([*_app_files(app).items(), ("secret.bin", b"x")])
    data = bytearray(plain)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + length] == b"secret.bin":
            struct.pack_into("<H", data, at + 8, struct.unpack_from("<H", data, at + 8)[0] | 1)
        at = data.find(b"PK\x01\x02", at + 4)
    with pytest.raises(InputFileError, match=r"'secret\.bin' is encrypted"):
        packages.read(bytes(data))
    bz2 = _zip(list(_app_files(app).items()), zipfile.ZIP_BZIP2)
    with pytest.raises(InputFileError, match="compression method 12"):
        packages.read(bz2)


def test_read_path_checks_the_file_before_loading_it(
    app: Path, tmp_path: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = packages.build(app, key)
    upload = tmp_path / "spool" / "upload-3f9a.tmp"
    upload.parent.mkdir()
    upload.write_bytes(built.archive)
    opened = packages.read_path(upload, "solar.twapp")
    assert opened.content_hash == built.content_hash and opened.signed

    upload.write_bytes(b"PK\x05\x06 not really")
    with pytest.raises(InputFileError) as caught:
        packages.read_path(upload, "solar.twapp")
    assert str(caught.value).startswith("solar.twapp: ")
    assert str(upload.parent) not in str(caught.value)

    monkeypatch.setenv("TWEELING_MAX_PACKAGE_UNPACKED_MB", "1")
    upload.write_bytes(os.urandom(2 << 20))
    with pytest.raises(InputFileError, match="larger than 1 MB"):
        packages.read_path(upload, "solar.twapp")


# ---------------------------------------------------------------- 3. malformed signature files

MALFORMED = {
    "not JSON": (b"{not json", "is not JSON"),
    "a list": (b"[1, 2]", "is not a JSON object"),
    "no key": (b'{"algorithm": "Ed25519"}', "'public_key' must be a string of 64"),
    "wrong type": (None, "'public_key' must be a string of 64"),
    "not hex": ("zz", "'signature' must be a string of 128"),
    "wrong length": ("short", "'content_hash' must be a string of 64"),
    "other algorithm": ("rsa", "'algorithm' must be"),
    "unknown scheme": ("scheme", "unknown scheme 'tweeling-app/9'"),
}


def _malformed(valid: dict[str, object], case: str) -> bytes:
    raw, _ = MALFORMED[case]
    if isinstance(raw, bytes):
        return raw
    bad = dict(valid)
    if raw is None:
        bad["public_key"] = 12345
    elif raw == "zz":
        bad["signature"] = "zz" * 64
    elif raw == "short":
        bad["content_hash"] = "ab" * 31
    elif raw == "rsa":
        bad["algorithm"] = "RSA"
    else:
        bad["scheme"] = "tweeling-app/9"
    return orjson.dumps(bad)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_signature_file_is_named(app: Path, key: Ed25519PrivateKey, case: str) -> None:
    signed = packages.build(app, key)
    assert signed.signature is not None
    files = [(n, d) for n, d in _unzip(signed.archive) if n != packages.SIGNATURE]
    archive = _zip([*files, (packages.SIGNATURE, _malformed(signed.signature, case))])
    with pytest.raises(InputFileError, match=MALFORMED[case][1]) as caught:
        packages.read(archive, "app.twapp")
    assert str(caught.value).startswith("app.twapp: tweeling-signature.json")


def test_the_cli_names_a_malformed_signature_with_exit_code_2(
    app: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    signed = packages.build(app, key)
    files = [(n, d) for n, d in _unzip(signed.archive) if n != packages.SIGNATURE]
    bad = tmp_path / "bad.twapp"
    bad.write_bytes(_zip([*files, (packages.SIGNATURE, b'{"public_key": [1]}')]))
    r = run(["app", "install", str(bad), "--twin", "delft"], tmp_path / "home")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "tweeling-signature.json" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------- 5. the extraction cache


def _modes(root: Path) -> set[tuple[str, int]]:
    return {
        ("dir" if p.is_dir() else "file", stat.S_IMODE(p.lstat().st_mode))
        for p in [root, *root.rglob("*")]
    }


def test_the_extracted_package_is_read_only_and_verified_before_use(
    app: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    package = packages.build(app)
    cache = tmp_path / "cache"
    folder = packages.extract(package, cache)
    assert folder == cache / package.content_hash
    assert _modes(folder) == {("dir", 0o555), ("file", 0o444)}
    original = (folder / "footprints" / "app.py").read_bytes()

    # a hostile run (or anyone) changes a cached file, and plants another
    entry = folder / "footprints" / "app.py"
    (folder / "footprints").chmod(0o755)
    entry.chmod(0o644)
    entry.write_bytes(b"import os; os.system('curl evil')\n")
    (folder / "footprints" / "sitecustomize.py").write_text("print('planted')\n")
    with caplog.at_level(logging.WARNING, logger="tweeling.apps.package_cache"):
        again = packages.extract(package, cache)
    assert again == folder
    assert (folder / "footprints" / "app.py").read_bytes() == original
    assert not (folder / "footprints" / "sitecustomize.py").exists()
    assert _modes(folder) == {("dir", 0o555), ("file", 0o444)}
    assert "was altered" in caplog.text
    assert [p.name for p in cache.iterdir()] == [package.content_hash]  # nothing left over

    # an unchanged copy is used as it is
    inode = (folder / "footprints" / "app.py").stat().st_ino
    packages.extract(package, cache)
    assert (folder / "footprints" / "app.py").stat().st_ino == inode


def test_a_cached_file_replaced_by_a_link_or_removed_is_restored(app: Path, tmp_path: Path) -> None:
    package = packages.build(app)
    cache = tmp_path / "cache"
    folder = packages.extract(package, cache)
    manifest = folder / "tweeling-app.toml"
    expected = manifest.read_bytes()
    folder.chmod(0o755)
    manifest.unlink()
    manifest.symlink_to(tmp_path / "elsewhere.toml")
    packages.extract(package, cache)
    assert not manifest.is_symlink() and manifest.read_bytes() == expected
    folder.chmod(0o755)
    manifest.unlink()
    packages.extract(package, cache)
    assert manifest.read_bytes() == expected


# ---------------------------------------------------------------- stored packages


def test_a_stored_package_is_checked_against_its_stored_hash(db: Database, app: Path) -> None:
    package = packages.build(app)
    # an unsigned package stored before scheme 2 keeps the hash it was stored under
    old_hash = content_hash(package.digests, LEGACY_SCHEME)
    with db.begin() as conn:
        old_id = packages.register(conn, replace(package, content_hash=old_hash), "test")
        loaded = packages.load(conn, old_id)
    assert loaded.content_hash == old_hash and loaded.scheme == LEGACY_SCHEME
    # an archive changed in the database no longer matches the hash it was stored under
    (app / "footprints" / "app.py").write_text("def run(*a): ...\n")
    other = packages.build(app).archive
    with db.begin() as conn:
        conn.execute(update(app_packages).where(app_packages.c.id == old_id).values(archive=other))
    with db.begin() as conn, pytest.raises(InputFileError, match="no longer matches"):
        packages.load(conn, old_id)
