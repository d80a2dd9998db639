"""schemathesis (its command-line runner, over HTTP against a live server) generates requests
from our OpenAPI definition: whatever it sends, the API never answers with a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.live import live_server
from tests.conftest import SAMPLES
from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest


def test_no_server_errors(db: Database, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    if not st.exists() and shutil.which("st") is None:
        pytest.skip("schemathesis is not installed")
    if not (SAMPLES / "3dbag_multi_lod.city.json").is_file():
        pytest.skip(f"sample data not found at {SAMPLES}")
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
        identity.add_member(conn, "admin@delft.nl", "Gemeente Delft", "admin", actor="t")
        token = identity.create_token(conn, "admin@delft.nl", "Gemeente Delft", actor="t").secret
        org = identity.get_organisation(conn, "Gemeente Delft").id
    ingest(db, SAMPLES / "3dbag_multi_lod.city.json", "delft", owner_org_id=org, crs="EPSG:7415")
    with live_server(create_app(db)) as base:
        result = subprocess.run(
            [
                str(st),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "8",
                "--header",
                f"Authorization: Bearer {token}",
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "20261123",
                "--workers",
                "1",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stdout[:8000]
