"""Who may replace an installed app: an unsigned package never replaces a signed installation;
a package signed by another key only when the operator says so. Checked from the database
(which package the twin runs), through the service and the CLI."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from tests.apps.conftest import OPERATOR
from tests.cli.test_cli import run
from tweeling.access.keys import public_hex
from tweeling.apps import packages
from tweeling.apps.scaffold import scaffold
from tweeling.errors import Conflict
from tweeling.services import apps as service
from tweeling.storage.db import Database
from tweeling.storage.schema import app_installations, app_packages, audit_log
from tweeling.twin.ingest import ingest


def _key(folder: Path, name: str) -> Ed25519PrivateKey:
    packages.generate_key(folder / name)
    return packages.load_key(folder / name)


def _installed_hash(db: Database, app_id: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(
                select(app_packages.c.content_hash)
                .join(app_installations, app_installations.c.package_id == app_packages.c.id)
                .where(app_installations.c.app_id == app_id)
            ).scalar_one()
        )


def test_a_signed_installation_is_replaced_only_by_its_key_or_on_purpose(
    delft_db: Database, tmp_path: Path
) -> None:
    app = scaffold("replaced", tmp_path)
    first, other = _key(tmp_path, "first.pem"), _key(tmp_path, "other.pem")
    signed = packages.build(app, first)
    service.install(delft_db, OPERATOR, "delft", signed, {})
    assert _installed_hash(delft_db, "replaced") == signed.content_hash

    (app / "replaced" / "app.py").write_text(
        (app / "replaced" / "app.py").read_text() + "\n# changed\n"
    )
    with pytest.raises(Conflict, match="an unsigned package never replaces a signed"):
        service.install(delft_db, OPERATOR, "delft", packages.build(app), {})
    by_other = packages.build(app, other)
    with pytest.raises(Conflict, match="signed by another key"):
        service.install(delft_db, OPERATOR, "delft", by_other, {})
    assert _installed_hash(delft_db, "replaced") == signed.content_hash  # nothing changed

    same_key = packages.build(app, first)  # an update by the same publisher goes through
    service.install(delft_db, OPERATOR, "delft", same_key, {})
    assert _installed_hash(delft_db, "replaced") == same_key.content_hash

    (app / "replaced" / "app.py").write_text(
        (app / "replaced" / "app.py").read_text() + "\n# new key\n"
    )
    rotated = packages.build(app, other)
    service.install(delft_db, OPERATOR, "delft", rotated, {}, accept_new_key=True)
    assert _installed_hash(delft_db, "replaced") == rotated.content_hash
    with delft_db.read() as conn:
        details = [
            orjson.loads(d)
            for d in conn.execute(
                select(audit_log.c.detail).where(audit_log.c.action == "app.install")
            ).scalars()
        ]
    last = details[-1]
    assert last["key"] == public_hex(other)
    assert last["replaced_key"] == public_hex(first)


def test_an_unsigned_install_over_a_signed_one_fails_on_the_command_line(
    db: Database, db_url: str, samples: Path, tmp_path: Path
) -> None:
    ingest(db, samples / "delft.city.json", "delft")
    app = scaffold("cli-replaced", tmp_path)
    key = _key(tmp_path, "k.pem")
    signed = tmp_path / "signed.twapp"
    signed.write_bytes(packages.build(app, key).archive)
    home = tmp_path / "home"
    r = run(["app", "install", str(signed), "--twin", "delft"], home, db_url)
    assert r.returncode == 0, r.stderr

    r = run(["app", "install", str(app), "--twin", "delft"], home, db_url)  # unsigned folder
    assert r.returncode == 4, r.stdout + r.stderr
    assert "unsigned package never replaces a signed installation" in r.stderr
    assert "Traceback" not in r.stderr
    with db.read() as conn:
        signature = conn.execute(
            select(app_packages.c.signature)
            .join(app_installations, app_installations.c.package_id == app_packages.c.id)
            .where(app_installations.c.app_id == "cli-replaced")
        ).scalar_one()
    assert signature is not None  # still the signed package
