"""Packages: reproducible archives, content hashes, Ed25519 signatures, tampering refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tweeling.apps import packages
from tweeling.apps.scaffold import scaffold
from tweeling.errors import InputFileError, InvalidInput


@pytest.fixture
def app(tmp_path: Path) -> Path:
    folder = scaffold("footprints", tmp_path)
    (folder / "footprints" / "__pycache__").mkdir()
    (folder / "footprints" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"junk")
    return folder


def _rewrite(archive: bytes, change: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = change.get(item.filename, src.read(item))
            if data is not None:
                dst.writestr(item, data)
        for name, data in change.items():
            if name not in src.namelist() and data is not None:
                dst.writestr(name, data)
    return out.getvalue()


def test_build_is_reproducible_and_leaves_caches_out(app: Path, tmp_path: Path) -> None:
    key = packages.load_key(tmp_path / "k.pem") if False else None
    one = packages.build(app, key)
    two = packages.build(app, key)
    assert one.archive == two.archive
    with zipfile.ZipFile(io.BytesIO(one.archive)) as zf:
        names = zf.namelist()
    assert "tweeling-app.toml" in names and "footprints/app.py" in names
    assert not any("__pycache__" in n for n in names)
    assert not one.signed


def test_signature_checks_out_and_binds_the_content(app: Path, tmp_path: Path) -> None:
    public = packages.generate_key(tmp_path / "publisher.pem")
    signed = packages.build(app, packages.load_key(tmp_path / "publisher.pem"))
    assert signed.signature is not None and signed.signature["public_key"] == public
    reread = packages.read(signed.archive)
    assert reread.content_hash == signed.content_hash and reread.signed
    # the hash does not depend on the signature file or on zip details
    assert packages.build(app).content_hash == signed.content_hash

    changed = _rewrite(signed.archive, {"footprints/app.py": b"def run(i, p, c): ...\n"})
    with pytest.raises(InputFileError, match="changed after signing"):
        packages.read(changed)
    added = _rewrite(signed.archive, {"footprints/extra.py": b"import os\n"})
    with pytest.raises(InputFileError, match="changed after signing"):
        packages.read(added)
    forged = _rewrite(
        signed.archive,
        {"tweeling-signature.json": _forged(signed.signature)},
    )
    with pytest.raises(InputFileError, match="signature is not valid"):
        packages.read(forged)


def _forged(signature: dict) -> bytes:  # type: ignore[type-arg]
    import orjson

    bad = dict(signature)
    bad["signature"] = ("00" if bad["signature"][:2] != "00" else "11") + bad["signature"][2:]
    return orjson.dumps(bad)


def test_bad_archives_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a Tweeling app package"):
        packages.read(b"not a zip", "x.twapp")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README.md", "hi")
    with pytest.raises(InputFileError, match=r"holds no tweeling-app\.toml"):
        packages.read(empty.getvalue())
    sneaky = io.BytesIO()
    with zipfile.ZipFile(sneaky, "w") as zf:
        zf.writestr("../../etc/cron.d/x", "boom")
    with pytest.raises(InputFileError, match="unsafe file name"):
        packages.read(sneaky.getvalue())
    (tmp_path / "k.pem").write_text("x")
    with pytest.raises(InvalidInput, match="never overwritten"):
        packages.generate_key(tmp_path / "k.pem")
