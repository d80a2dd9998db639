"""The app developer's and the municipality's journey on the command line: scaffold, check,
test, sign, package, install with calibration, run, show, replay, recipes, export."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from prov.model import ProvDocument

from tests.apps.conftest import FIXTURES
from tests.cli.test_cli import run
from tweeling.storage.db import Database

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_app_journey(db: Database, db_url: str, samples: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert (
        run(
            ["ingest", str(samples / "delft.city.json"), "--twin", "delft"], home, db_url
        ).returncode
        == 0
    )

    r = run(["app", "new", "footprints", "--dir", str(tmp_path)], home)
    assert r.returncode == 0, r.stderr
    app = tmp_path / "footprints"
    assert run(["app", "check", str(app)], home).returncode == 0
    own_tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr

    r = run(["app", "keygen", "-o", str(tmp_path / "publisher.pem")], home)
    assert r.returncode == 0, r.stderr
    package = tmp_path / "footprints.twapp"
    r = run(
        ["app", "package", str(app), "-o", str(package), "--key", str(tmp_path / "publisher.pem")],
        home,
    )
    assert r.returncode == 0, r.stderr
    assert "signed" in r.stdout
    content_hash = re.search(r"content hash ([0-9a-f]{64})", r.stdout).group(1)  # type: ignore[union-attr]
    first = package.read_bytes()
    run(
        ["app", "package", str(app), "-o", str(package), "--key", str(tmp_path / "publisher.pem")],
        home,
    )
    assert package.read_bytes() == first  # reproducible

    tampered = tmp_path / "tampered.twapp"
    with zipfile.ZipFile(io.BytesIO(first)) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("app.py"):
                data += b"\nimport socket  # a backdoor\n"
            target.writestr(item, data)
    r = run(["app", "install", str(tampered), "--twin", "delft"], home, db_url)
    assert r.returncode == 2
    assert "changed after signing" in r.stderr

    r = run(
        ["app", "install", str(package), "--twin", "delft", "--param", "large_m2=200"], home, db_url
    )
    assert r.returncode == 0, r.stderr
    assert "large_m2 = 200" in r.stdout

    r = run(["app", "run", "footprints", "--twin", "delft", "--purpose", "research"], home, db_url)
    assert r.returncode == 0, r.stderr
    run_id = _last_line(r.stdout)
    assert UUID.match(run_id)

    r = run(["run", "show", run_id], home, db_url)
    shown = json.loads(r.stdout)
    assert shown["status"] == "successful"
    assert shown["parameters"] == {"large_m2": 200}
    assert shown["package_hash"] == content_hash  # the run names the exact package
    r = run(["run", "show", run_id, "--prov", "json"], home, db_url)
    assert ProvDocument.deserialize(content=r.stdout, format="json").get_records()
    r = run(["run", "show", run_id, "--prov", "provn"], home, db_url)
    assert r.stdout.startswith("document") and f"run:{run_id}" in r.stdout

    r = run(["run", "replay", run_id], home, db_url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "identical" in r.stdout

    r = run(
        ["export", "--twin", "delft", "-f", "geojson", "-o", str(tmp_path / "out.geojson")],
        home,
        db_url,
    )
    assert r.returncode == 0, r.stderr
    exported = json.loads((tmp_path / "out.geojson").read_text())
    areas = [f["properties"].get("footprints.footprint_m2") for f in exported["features"]]
    assert sum(a is not None for a in areas) == 160

    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f'name = "volumes"\n[[steps]]\napp = "footprints"\n[[steps]]\npath = "{FIXTURES / "volume"}"\n'
    )
    r = run(
        ["recipe", "run", str(recipe), "--twin", "delft", "--purpose", "research"], home, db_url
    )
    assert r.returncode == 0, r.stdout + r.stderr
    recipe_id = _last_line(r.stdout)
    assert "cached from" in r.stdout  # footprints with Delft's calibration ran just before
    r = run(["run", "show", recipe_id, "--prov", "provn"], home, db_url)
    assert r.returncode == 0, r.stderr
    assert "wasInformedBy" in r.stdout

    r = run(
        [
            "app",
            "run",
            str(FIXTURES / "misbehaving"),
            "--twin",
            "delft",
            "--param",
            "behaviour=socket",
        ],
        home,
        db_url,
    )
    assert r.returncode == 5
    assert "sandbox-violation" in r.stdout
    assert UUID.match(_last_line(r.stdout))

    r = run(["app", "run", "footprints", "--twin", "delft", "--param", "large_m2=-5"], home, db_url)
    assert r.returncode == 2
    assert "large_m2" in r.stderr and "Traceback" not in r.stderr
