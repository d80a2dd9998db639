"""The fit report on the Delft sample — green, amber and red with their reasons — and
installation from the store: refused when red unless an administrator overrides (audited),
a test run with the calibration first, a failing test run installs nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.apps.conftest import MISBEHAVING
from tweeling.access import identity
from tweeling.access.identity import Role
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.errors import Conflict, Forbidden, InvalidInput
from tweeling.services import apps as app_service
from tweeling.services import store
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest

from .listing import through_pipeline
from .people import member

APPS = Path(__file__).resolve().parents[2] / "apps"

# Apps that want what Delft lacks: individual trees with their trunks, traffic counts.
TREE_CENSUS = """
[[inputs.layers]]
layer = "vegetation"
object_types = ["SolitaryVegetationObject"]
attributes = ["trunk_diameter_cm"]
min_completeness = 0.8
geometry = false
"""
TRAFFIC = """
[[inputs.layers]]
layer = "roads"
attributes = ["traffic_intensity"]
min_completeness = 0.8
geometry = false
required = false

[[inputs.sensors]]
observed_property = "traffic count"
unit = "vehicles/h"
required = false
"""
LISTING = """title = "{title}"
summary = "A test app that wants data Delft does not have."

[[data]]
layer = "{layer}"
if_missing = "{if_missing}"
"""


def _app(folder: Path, name: str, extra: str, layer: str, if_missing: str) -> Path:
    app = scaffold(name, folder)
    manifest = app / "tweeling-app.toml"
    text_ = manifest.read_text()
    text_ = text_.replace("\n[parameters]", extra + "\n[parameters]", 1)
    manifest.write_text(text_)
    (app / "tweeling-listing.toml").write_text(
        LISTING.format(title=name.replace("-", " ").title(), layer=layer, if_missing=if_missing)
    )
    return app


@pytest.fixture(scope="module")
def delft(
    module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict]:  # type: ignore[type-arg]
    db = module_db
    folder = tmp_path_factory.mktemp("apps")
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Stadslab BV", "provider", actor="test")
        identity.create_organisation(conn, "Gemeente Leiden", "municipality", actor="test")
        delft_org = identity.create_organisation(
            conn, "Gemeente Delft", "municipality", actor="test"
        )
    ingest(db, samples / "delft.city.json", "delft", owner_org_id=delft_org.id)
    packages.generate_key(folder / "key.pem")
    key = packages.load_key(folder / "key.pem")
    provider = member(db, "dev@stadslab.nl", "Stadslab BV", Role.developer)
    master = member(db, identity.FIRST_ADMIN, identity.MARKET_MASTER, Role.admin)
    apps = {
        "tree-census": _app(
            folder, "tree-census", TREE_CENSUS, "vegetation", "Without trees it cannot count them."
        ),
        "traffic-noise": _app(
            folder, "traffic-noise", TRAFFIC, "roads", "Without counts it assumes 500 vehicles/h."
        ),
        "solar-potential": APPS / "solar-potential",
        "misbehaving": MISBEHAVING,
    }
    for app_id, path in apps.items():
        store.publish(db, provider, packages.from_path(path, key))
        through_pipeline(db, f"{app_id}@{packages.from_path(path).manifest.version}")
    executor = LocalExecutor(slots=1)
    yield {
        "db": db,
        "runtime": Runtime(db, executor, folder / "home"),
        "analyst": member(db, "analist@delft.nl", "Gemeente Delft", Role.analyst),
        "admin": member(db, "admin@delft.nl", "Gemeente Delft", Role.admin),
        "provider": provider,
        "master": master,
    }
    executor.close()


def test_red_fit_names_what_delft_lacks(delft: dict) -> None:  # type: ignore[type-arg]
    report = store.fit(delft["db"], delft["analyst"], "tree-census", "delft")
    assert report.verdict == "red"
    red = {c.requirement: c for c in report.red}
    trees = red["layer vegetation (SolitaryVegetationObject)"]
    assert trees.measured == "none in the twin (the layer holds: PlantCover 126)"
    assert trees.consequence == "Without trees it cannot count them."  # the publisher's words
    assert "import layer vegetation" in trees.fix
    greens = {c.requirement for c in report.checks if c.status == "green"}
    assert "layer buildings (Building)" in greens and "memory" in greens


def test_amber_fit_runs_with_a_cost(delft: dict) -> None:  # type: ignore[type-arg]
    report = store.fit(delft["db"], delft["analyst"], "traffic-noise@0.1.0", "delft")
    assert report.verdict == "amber"
    amber = {c.requirement: c for c in report.checks if c.status == "amber"}
    intensity = amber["roads: traffic_intensity"]
    assert intensity.measured == "0% (0 of 143)" and intensity.required == "at least 80% complete"
    assert intensity.consequence == "Without counts it assumes 500 vehicles/h."
    assert (
        amber["sensor data: traffic count"].required == "a datastream of traffic count (vehicles/h)"
    )
    assert store.fit(delft["db"], delft["analyst"], "solar-potential", "delft").verdict == "green"


def test_installation_follows_the_fit_report(delft: dict) -> None:  # type: ignore[type-arg]
    runtime, db = delft["runtime"], delft["db"]
    with pytest.raises(Conflict, match="will not run on delft: layer vegetation"):
        store.install(runtime, delft["admin"], "tree-census", "delft", {})
    with pytest.raises(Forbidden, match="only an administrator may override"):
        store.install(runtime, delft["analyst"], "tree-census", "delft", {}, override="pilot")
    forced = store.install(
        runtime, delft["admin"], "tree-census", "delft", {}, override="pilot with our own trees"
    )
    assert forced.installation.app_id == "tree-census"
    assert "installed despite a red fit report: pilot with our own trees" in forced.warnings
    with db.read() as conn:
        detail = (
            conn.execute(
                text("SELECT detail FROM audit_log WHERE action = 'store.install' ORDER BY seq")
            )
            .scalars()
            .first()
        )
    assert "pilot with our own trees" in str(detail)

    done = store.install(runtime, delft["admin"], "traffic-noise", "delft", {"large_m2": 200})
    assert done.report.verdict == "amber"
    assert done.validation.status == "successful"
    assert done.installation.parameters == {"large_m2": 200}

    with pytest.raises(
        Conflict, match=r"test run of misbehaving@1\.0\.0 on delft .* ended crashed"
    ):
        store.install(runtime, delft["admin"], "misbehaving", "delft", {"behaviour": "crash"})
    with db.read() as conn:
        installed = conn.execute(
            text("SELECT app_id FROM app_installations ORDER BY app_id")
        ).scalars()
        assert list(installed) == ["traffic-noise", "tree-census"]


def test_reviews_come_from_organisations_that_used_the_version(delft: dict) -> None:  # type: ignore[type-arg]
    db, runtime = delft["db"], delft["runtime"]
    analyst, provider, master = delft["analyst"], delft["provider"], delft["master"]
    with pytest.raises(Conflict, match=r"no successful run of solar-potential@0\.1\.0 on record"):
        store.review(db, analyst, "solar-potential@0.1.0", 5, "Looks great")
    used = app_service.run(
        runtime,
        delft["admin"],
        "delft",
        package=packages.from_path(APPS / "solar-potential"),  # the same content as listed
        purpose="roof-top solar map",
    )
    assert used.status == "successful", used.message
    with pytest.raises(InvalidInput, match="1 to 5 stars"):
        store.review(db, analyst, "solar-potential@0.1.0", 6, "Too good")
    written = store.review(
        db, analyst, "solar-potential@0.1.0", 4, "Matches our own roof survey; slow on 1 core."
    )
    assert written.organisation == "Gemeente Delft" and written.rating == 4
    again = store.review(db, analyst, "solar-potential@0.1.0", 5, "Fast with 2 cores.")
    assert again.id == written.id  # one review per organisation and version, replaced
    leiden = member(db, "analist@leiden.nl", "Gemeente Leiden", Role.analyst)
    with pytest.raises(Conflict, match="only organisations that used a version"):
        store.review(db, leiden, "solar-potential@0.1.0", 1, "Never tried it")

    with pytest.raises(Forbidden):
        store.respond(db, leiden, written.id, "We are not the publisher")
    store.respond(db, provider, written.id, "Thank you; 0.2 uses both cores.")
    found, mean = store.reviews_of(db, leiden, "solar-potential")
    assert mean == 5 and [r.response for r in found] == ["Thank you; 0.2 uses both cores."]

    report = store.report_abuse(db, leiden, written.id, "advertising")
    with pytest.raises(Forbidden):
        store.resolve_abuse(db, leiden, report, True, "I decide")
    assert [r["id"] for r in store.abuse_reports(db, master)] == [report]
    store.resolve_abuse(db, master, report, True, "not about the app")
    assert store.reviews_of(db, leiden, "solar-potential") == ([], None)
    with pytest.raises(Conflict, match="already resolved"):
        store.resolve_abuse(db, master, report, False, "second thoughts")


def test_paid_apps_are_acquired_from_their_publisher(delft: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    paid = scaffold("noise-pro", tmp_path)
    (paid / "tweeling-listing.toml").write_text(
        'title = "Noise Pro"\nsummary = "Traffic noise maps, calibrated for you."\n'
        'contact = "sales@stadslab.nl"\n[price]\nmodel = "subscription"\n'
        'amount_eur = 1200\nper = "year"\n'
    )
    packages.generate_key(tmp_path / "key.pem")
    key = packages.load_key(tmp_path / "key.pem")
    store.publish(delft["db"], delft["provider"], packages.from_path(paid, key))
    through_pipeline(delft["db"], "noise-pro@0.1.0")
    with pytest.raises(Conflict, match=r"subscription app: the store cannot take payments yet"):
        store.install(delft["runtime"], delft["admin"], "noise-pro", "delft", {})
