"""`tweeling app run --unsandboxed`: a developer's own folder only, loudly, and on record."""

from __future__ import annotations

from pathlib import Path

from tests.apps.conftest import MISBEHAVING
from tests.cli.test_cli import run
from tweeling.apps.runs import get_run
from tweeling.storage.db import Database


def test_only_an_app_folder_may_run_unsandboxed(
    db: Database, db_url: str, samples: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    r = run(["ingest", str(samples / "delft.city.json"), "--twin", "delft"], home, db_url)
    assert r.returncode == 0, r.stderr
    package = tmp_path / "misbehaving.twapp"
    r = run(["app", "package", str(MISBEHAVING), "-o", str(package)], home)
    assert r.returncode == 0, r.stderr

    refused = run(["app", "run", str(package), "--twin", "delft", "--unsandboxed"], home, db_url)
    assert refused.returncode == 2
    assert "only for an app folder of your own" in refused.stderr
    assert "Traceback" not in refused.stderr

    loose = run(["app", "run", str(MISBEHAVING), "--twin", "delft", "--unsandboxed"], home, db_url)
    assert loose.returncode == 0, loose.stdout + loose.stderr
    assert "WITHOUT the operating-system sandbox" in loose.stdout + loose.stderr
    run_id = loose.stdout.strip().splitlines()[-1]
    assert "unsandboxed" in _flags(db, run_id)

    boxed = run(["app", "run", str(MISBEHAVING), "--twin", "delft", "--param",
                 "behaviour=nondeterministic"], home, db_url)  # fmt: skip
    assert boxed.returncode == 0, boxed.stdout + boxed.stderr
    run_id = boxed.stdout.strip().splitlines()[-1]
    assert "unsandboxed" not in _flags(db, run_id)


def _flags(db: Database, run_id: str) -> list[str]:
    with db.read() as conn:
        return get_run(conn, run_id).flags
