"""``tweeling store`` at the command line, as a provider and the market master would use it:
publish a signed reference app, see it refused when unsigned, approve it, find it and read
its page."""

from __future__ import annotations

from pathlib import Path

import orjson

from tweeling.apps.scaffold import scaffold
from tweeling.storage.db import Database

from .test_cli import run

SOLAR = Path(__file__).resolve().parents[2] / "apps" / "solar-potential"


def test_store_journey(db: Database, db_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = tmp_path / "publisher.pem"
    assert run(["app", "keygen", "-o", str(key)], home).returncode == 0

    r = run(["store", "publish", str(SOLAR)], home, db_url)
    assert r.returncode == 2 and "give --key to sign it" in r.stderr
    r = run(["store", "publish", str(SOLAR), "--key", str(key)], home, db_url)
    assert r.returncode == 0, r.stderr
    assert "submitted solar-potential@0.1.0" in r.stdout
    r = run(["store", "publish", str(SOLAR), "--key", str(key)], home, db_url)
    assert r.returncode != 0 and "already in the repository" in r.stderr

    r = run(["store", "search", "zonnepanelen", "--json"], home, db_url)
    assert orjson.loads(r.stdout)["total"] == 0  # not approved yet
    r = run(["store", "approve", "solar-potential@0.1.0"], home, db_url)
    assert r.returncode == 2 and "--reason" in r.stderr
    r = run(["store", "approve", "solar-potential@0.1.0", "--reason", "intake ok"], home, db_url)
    assert r.returncode == 0, r.stderr

    found = orjson.loads(run(["store", "search", "zonnepanelen", "--json"], home, db_url).stdout)
    assert found["total"] == 1 and found["hits"][0]["app"] == "solar-potential"
    assert found["facets"]["price_model"] == {"free": 1}
    r = run(["store", "search", "zon", "--use-case", "energy"], home, db_url)
    assert "solar-potential" in r.stdout and "1 found" in r.stdout

    page = orjson.loads(run(["store", "show", "solar-potential", "--json"], home, db_url).stdout)
    version = page["versions"][0]
    assert version["state"] == "approved"
    assert version["page"]["data"][0]["if_missing"].startswith("Without 3D geometry")
    assert [d["to"] for d in version["decisions"]] == ["submitted", "approved"]
    r = run(["store", "show", "solar-potential", "--html"], home, db_url)
    assert "<strong>annual solar irradiation</strong>" in r.stdout

    r = run(["store", "decide", "solar-potential@0.1.0", "--state", "shiny", "--reason", "x"],
            home, db_url)  # fmt: skip
    assert r.returncode != 0 and "unknown state 'shiny'" in r.stderr
    r = run(["store", "show", "nothing-here"], home, db_url)
    assert r.returncode != 0 and "no app 'nothing-here' in the store" in r.stderr

    criteria = orjson.loads(run(["accredit", "criteria", "--json"], home).stdout)
    assert criteria["version"] == "1.0" and len(criteria["criteria"]) >= 18
    r = run(["accredit", "checks", "solar-potential@0.1.0", "--json"], home, db_url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert orjson.loads(r.stdout)["passed"] is True

    r = run(["store", "reviews", "solar-potential"], home, db_url)
    assert r.returncode == 0 and "no reviews yet" in r.stdout
    r = run(["store", "review", "solar-potential@0.1.0", "--rating", "5", "--text", "ok"],
            home, db_url)  # fmt: skip
    assert r.returncode != 0 and "reviews come from organisations" in r.stderr

    # The fit report: exit 0 when nothing is red, 4 when the app will not run here.
    bag = SOLAR.parents[2] / "shared" / "data" / "3dbag_multi_lod.city.json"
    r = run(["ingest", str(bag), "--twin", "bag", "--crs", "EPSG:7415"], home, db_url)
    assert r.returncode == 0, r.stderr
    r = run(["store", "fit", "solar-potential", "--twin", "bag", "--json"], home, db_url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert orjson.loads(r.stdout)["verdict"] == "green"
    trees = scaffold("tree-census", tmp_path)
    manifest = trees / "tweeling-app.toml"
    manifest.write_text(
        manifest.read_text().replace(
            "\n[parameters]",
            '\n[[inputs.layers]]\nlayer = "vegetation"\nobject_types = '
            '["SolitaryVegetationObject"]\ngeometry = false\n\n[parameters]',
            1,
        )
    )
    assert run(["store", "publish", str(trees), "--key", str(key)], home, db_url).returncode == 0
    run(["store", "approve", "tree-census@0.1.0", "--reason", "ok"], home, db_url)
    r = run(["store", "fit", "tree-census", "--twin", "bag"], home, db_url)
    assert r.returncode == 4
    assert "red" in r.stdout and "SolitaryVegetationObject" in r.stdout
    r = run(["store", "install", "tree-census", "--twin", "bag"], home, db_url)
    assert r.returncode != 0 and "--override REASON" in r.stderr
