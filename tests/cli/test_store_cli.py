"""``tweeling store`` and ``tweeling accredit`` at the command line, as a provider, the
market master and an accreditor would use them: publish a signed reference app (refused when
unsigned), register the key, submit it, run the checks, file the scored review from a file,
decide, then find it and read its page and report."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.store.listing import through_pipeline
from tweeling import samples as sample_data
from tweeling.access import identity
from tweeling.apps.scaffold import scaffold
from tweeling.storage.db import Database

from .test_cli import run

SOLAR = Path(__file__).resolve().parents[2] / "apps" / "solar-potential"
REVIEW = Path(__file__).resolve().parents[1] / "store" / "fixtures" / "reference-review.toml"
REVIEWER = "beoordelaar@keurmerk.nl"


def test_store_journey(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    key = tmp_path / "publisher.pem"
    assert run(["app", "keygen", "-o", str(key)], home).returncode == 0

    r = run(["store", "publish", str(SOLAR)], home, db_url)
    assert r.returncode == 2 and "give --key to sign it" in r.stderr
    r = run(["store", "publish", str(SOLAR), "--key", str(key)], home, db_url)
    assert r.returncode == 0, r.stderr
    assert "published solar-potential@0.1.0" in r.stdout and "state draft" in r.stdout
    r = run(["store", "publish", str(SOLAR), "--key", str(key)], home, db_url)
    assert r.returncode != 0 and "already in the repository" in r.stderr

    r = run(["store", "search", "zonnepanelen", "--json"], home, db_url)
    assert orjson.loads(r.stdout)["total"] == 0  # not accredited yet
    r = run(["store", "decide", "solar-potential@0.1.0", "--state", "approved", "--reason", "ok"],
            home, db_url)  # fmt: skip
    assert r.returncode != 0 and "only through accreditation" in r.stderr
    ref = "solar-potential@0.1.0"
    assert run(["accredit", "submit", ref], home, db_url).returncode == 0
    waiting = orjson.loads(run(["accredit", "queue", "--json"], home, db_url).stdout)
    assert [(w["app"], w["state"], w["next"]) for w in waiting] == [
        ("solar-potential", "submitted", "the market master runs the automated checks")
    ]
    r = run(["accredit", "checks", ref, "--json"], home, db_url)
    assert r.returncode == 4  # the key is not registered yet
    assert "integrity" in [
        c["check"] for c in orjson.loads(r.stdout)["checks"] if c["passed"] is False
    ]
    r = run(["store", "keys", "add", str(key), "--label", "release"], home, db_url)
    assert r.returncode == 0 and "registered" in r.stdout, r.stderr
    r = run(["accredit", "checks", ref, "--json"], home, db_url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert orjson.loads(r.stdout)["passed"] is True and orjson.loads(r.stdout)["round"] == 2
    with db.begin() as conn:
        identity.create_organisation(conn, "Keurmerk Instituut", "accreditor", actor="t")
        identity.add_member(conn, REVIEWER, "Keurmerk Instituut", "reviewer", actor="t")
        token = identity.create_token(conn, REVIEWER, "Keurmerk Instituut", actor="t").secret
    assert run(["accredit", "assign", ref, "--accreditor", "Keurmerk Instituut"], home,
               db_url).returncode == 0  # fmt: skip
    r = run(["accredit", "score", ref, "--file", str(REVIEW)], home, db_url)
    assert r.returncode != 0 and "act with their token" in r.stderr
    monkeypatch.setenv("TWEELING_TOKEN", token)
    r = run(["accredit", "score", ref, "--file", str(REVIEW)], home, db_url)
    assert r.returncode == 0 and "20 criteria scored" in r.stdout, r.stderr
    r = run(["accredit", "decide", ref, "--outcome", "accredited", "--reason", "mine"], home,
            db_url)  # fmt: skip
    assert r.returncode != 0 and "market master" in r.stderr
    monkeypatch.delenv("TWEELING_TOKEN")
    r = run(["accredit", "decide", ref, "--outcome", "accredited", "--reason", "meets every norm"],
            home, db_url)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run(["accredit", "report", ref], home, db_url)
    assert "trust score" in r.stdout and "accreditable" in r.stdout

    found = orjson.loads(run(["store", "search", "zonnepanelen", "--json"], home, db_url).stdout)
    assert found["total"] == 1 and found["hits"][0]["app"] == "solar-potential"
    assert found["facets"]["price_model"] == {"free": 1}
    r = run(["store", "search", "zon", "--use-case", "energy"], home, db_url)
    assert "solar-potential" in r.stdout and "1 found" in r.stdout

    page = orjson.loads(run(["store", "show", "solar-potential", "--json"], home, db_url).stdout)
    version = page["versions"][0]
    assert version["state"] == "approved"
    assert version["page"]["data"][0]["if_missing"].startswith("Without 3D geometry")
    assert [d["to"] for d in version["decisions"]] == [
        "draft", "submitted", "checks", "under-review", "approved"
    ]  # fmt: skip
    r = run(["store", "show", "solar-potential", "--html"], home, db_url)
    assert "<strong>annual solar irradiation</strong>" in r.stdout

    r = run(["store", "decide", "solar-potential@0.1.0", "--state", "shiny", "--reason", "x"],
            home, db_url)  # fmt: skip
    assert r.returncode != 0 and "unknown state 'shiny'" in r.stderr
    r = run(["store", "show", "nothing-here"], home, db_url)
    assert r.returncode != 0 and "no app 'nothing-here' in the store" in r.stderr

    criteria = orjson.loads(run(["accredit", "criteria", "--json"], home).stdout)
    assert criteria["version"] == "1.0" and len(criteria["criteria"]) >= 18

    r = run(["store", "reviews", "solar-potential"], home, db_url)
    assert r.returncode == 0 and "no reviews yet" in r.stdout
    r = run(["store", "review", "solar-potential@0.1.0", "--rating", "5", "--text", "ok"],
            home, db_url)  # fmt: skip
    assert r.returncode != 0 and "reviews come from organisations" in r.stderr

    # The fit report: exit 0 when nothing is red, 4 when the app will not run here.
    bag = sample_data.city("3dbag_multi_lod.city.json")
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
    through_pipeline(db, "tree-census@0.1.0")  # its checks and review are not the point here
    r = run(["store", "fit", "tree-census", "--twin", "bag"], home, db_url)
    assert r.returncode == 4
    assert "red" in r.stdout and "SolitaryVegetationObject" in r.stdout
    r = run(["store", "install", "tree-census", "--twin", "bag"], home, db_url)
    assert r.returncode != 0 and "--override REASON" in r.stderr
