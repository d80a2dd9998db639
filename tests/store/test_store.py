"""The store on a real database (both backends): providers publish signed versions of the
reference apps, the market master decides, municipalities search and read — each step
through the policy point and on the audit log."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from tweeling.access import identity
from tweeling.access.identity import Role
from tweeling.apps import packages
from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.services import apps as app_service
from tweeling.services import store
from tweeling.storage.db import Database
from tweeling.store.lifecycle import State
from tweeling.twin.ingest import ingest

from .listing import through_pipeline
from .people import member

APPS = Path(__file__).resolve().parents[2] / "apps"
REFERENCE = ("solar-potential", "sun-hours-and-shade", "heat-stress")


@pytest.fixture
def world(db: Database, tmp_path: Path) -> dict[str, object]:
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Stadslab BV", "provider", actor="test")
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="test")
        identity.create_organisation(conn, "Gemeente Leiden", "municipality", actor="test")
    packages.generate_key(tmp_path / "publisher.pem")
    return {
        "db": db,
        "key": packages.load_key(tmp_path / "publisher.pem"),
        "provider": member(db, "dev@stadslab.nl", "Stadslab BV", Role.developer),
        "master": member(db, identity.FIRST_ADMIN, identity.MARKET_MASTER, Role.admin),
        "delft": member(db, "analist@delft.nl", "Gemeente Delft", Role.analyst),
        "leiden": member(db, "analist@leiden.nl", "Gemeente Leiden", Role.analyst),
    }


def _publish_all(world: dict) -> None:  # type: ignore[type-arg]
    for app in REFERENCE:
        package = packages.from_path(APPS / app, world["key"])
        version = store.publish(world["db"], world["provider"], package)
        assert version.state == State.draft
        assert version.publisher == "Stadslab BV"


def _approve_all(world: dict) -> None:  # type: ignore[type-arg]
    for app in REFERENCE:
        through_pipeline(world["db"], f"{app}@0.1.0")


def test_publish_approve_search_show(world: dict) -> None:  # type: ignore[type-arg]
    db = world["db"]
    unsigned = packages.from_path(APPS / "solar-potential")
    with pytest.raises(InvalidInput, match="not signed"):
        store.publish(db, world["provider"], unsigned)
    with pytest.raises(Exception, match="do not allow create"):  # a municipality's analyst
        store.publish(db, world["delft"], packages.from_path(APPS / "heat-stress", world["key"]))
    _publish_all(world)
    assert store.find(db, world["delft"], "").total == 0  # nothing is listed before approval
    with pytest.raises(NotFound):
        store.show(db, world["delft"], "solar-potential")
    with pytest.raises(Conflict, match="from draft to approved only through accreditation"):
        store.decide_version(db, world["provider"], "solar-potential@0.1.0", "approved", "me")
    with pytest.raises(InvalidInput, match="needs a reason"):
        store.decide_version(db, world["provider"], "solar-potential@0.1.0", "submitted", " ")
    store.decide_version(db, world["provider"], "solar-potential@0.1.0", "submitted", "ready")
    # nobody approves by hand, not even the market master: only accreditation lists a version
    with pytest.raises(Conflict, match="from submitted to approved only through accreditation"):
        store.decide_version(db, world["master"], "solar-potential@0.1.0", "approved", "ok")
    _approve_all(world)

    everything = store.find(db, world["delft"], "")
    assert everything.total == 3
    assert everything.facets["use_cases"]["climate-adaptation"] == 3
    solar = store.find(db, world["delft"], "solar roofs")
    assert [h.facets["app_id"] for h in solar.hits][0] == "solar-potential"
    # Dutch words from the publishers' pages, matched as prefixes
    assert [h.facets["app_id"] for h in store.find(db, world["delft"], "zonnepanelen").hits] == [
        "solar-potential"
    ]
    assert [h.facets["app_id"] for h in store.find(db, world["delft"], "hittestress").hits] == [
        "heat-stress"
    ]
    zon = {h.facets["app_id"] for h in store.find(db, world["delft"], "zon").hits}
    assert zon == {"solar-potential", "sun-hours-and-shade"}
    health = store.find(db, world["delft"], "", {"use_cases": "liveability-health"})
    assert {h.facets["app_id"] for h in health.hits} == {"sun-hours-and-shade", "heat-stress"}
    assert store.find(db, world["delft"], "", {"layers": "water"}).total == 1
    with pytest.raises(InvalidInput, match="unknown facet 'colour'"):
        store.find(db, world["delft"], "", {"colour": "red"})

    view = store.show(db, world["leiden"], "solar-potential")
    assert view.current.version == "0.1.0" and view.current.state == State.approved
    steps = view.decisions["0.1.0"]
    assert [s["to"] for s in steps] == [
        "draft", "submitted", "checks", "under-review", "approved"
    ]  # fmt: skip
    assert steps[1]["reason"] == "ready" and steps[1]["by"] == "dev@stadslab.nl"
    with db.read() as conn:
        actions = conn.execute(
            text("SELECT action FROM audit_log WHERE action LIKE 'store.%' ORDER BY seq")
        ).scalars()
        assert list(actions).count("store.publish") == 3


def test_versions_are_immutable_and_betas_private(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    db = world["db"]
    _publish_all(world)
    _approve_all(world)
    again = packages.from_path(APPS / "solar-potential", world["key"])
    with pytest.raises(Conflict, match="already in the repository"):
        store.publish(db, world["provider"], again)
    changed = tmp_path / "solar"
    shutil.copytree(APPS / "solar-potential", changed, ignore=shutil.ignore_patterns("__pycache__"))
    page = changed / "tweeling-listing.toml"
    page.write_text(page.read_text().replace("First release.", "Faster."))
    with pytest.raises(Conflict, match="never changes: give this one a new version number"):
        store.publish(db, world["provider"], packages.from_path(changed, world["key"]))
    manifest = changed / "tweeling-app.toml"
    manifest.write_text(manifest.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    store.publish(db, world["provider"], packages.from_path(changed, world["key"]))
    through_pipeline(db, "solar-potential@0.2.0", State.beta, ("Gemeente Delft",))
    delft = store.show(db, world["delft"], "solar-potential")
    assert [v.version for v in delft.versions] == ["0.2.0", "0.1.0"]
    assert delft.current.version == "0.1.0"  # the listed one, not the beta
    leiden = store.show(db, world["leiden"], "solar-potential")
    assert [v.version for v in leiden.versions] == ["0.1.0"]
    with pytest.raises(NotFound):
        store.show(db, world["leiden"], "solar-potential@0.2.0")
    through_pipeline(db, "solar-potential@0.2.0")
    hit = store.find(db, world["leiden"], "solar").hits[0]
    assert hit.facets["version"] == "0.2.0"  # the search follows the newest listed version


def test_deprecation_reaches_the_organisations_that_installed(
    world: dict, samples: Path, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    db = world["db"]
    _publish_all(world)
    _approve_all(world)
    with db.read() as conn:
        delft_id = identity.get_organisation(conn, "Gemeente Delft").id
    ingest(
        db, samples / "3dbag_multi_lod.city.json", "delft", crs="EPSG:7415", owner_org_id=delft_id
    )
    admin = member(db, "admin@delft.nl", "Gemeente Delft", Role.admin)
    package = packages.from_path(APPS / "solar-potential", world["key"])
    app_service.install(db, admin, "delft", package, {"pv_efficiency": 0.21})
    with pytest.raises(Conflict, match="cannot become submitted; it can become deprecated, withd"):
        store.decide_version(db, world["provider"], "sun-hours-and-shade@0.1.0", "submitted", "x")
    store.decide_version(
        db, world["provider"], "solar-potential@0.1.0", "deprecated", "0.2.0 is faster"
    )
    notices = store.notices(db, admin)
    assert len(notices) == 1
    assert notices[0]["message"] == "solar-potential@0.1.0 is deprecated: 0.2.0 is faster"
    assert store.notices(db, world["leiden"]) == []
    # deprecated: still listed and found, marked as such
    assert store.find(db, world["leiden"], "solar").hits[0].facets["approval"] == "deprecated"
    store.decide_version(db, world["provider"], "solar-potential@0.1.0", "withdrawn", "unsafe")
    assert store.find(db, world["leiden"], "solar").total == 0
    assert len(store.notices(db, admin)) == 2
    # a new version reaches the organisations that installed an older one
    newer = tmp_path / "solar"
    shutil.copytree(APPS / "solar-potential", newer, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = newer / "tweeling-app.toml"
    manifest.write_text(manifest.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    store.publish(db, world["provider"], packages.from_path(newer, world["key"]))
    through_pipeline(db, "solar-potential@0.2.0")
    latest = store.notices(db, admin)[0]
    assert latest["kind"] == "upgrade" and "solar-potential@0.2.0 is available" in latest["message"]
    assert store.notices(db, world["leiden"]) == []
