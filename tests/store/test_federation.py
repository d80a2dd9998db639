"""Federation between two live stores on loopback: each harvests the other's OGC API –
Records catalogue and shows those listings with their origin; acquiring one is referred to
its home store; nothing echoes back; a withdrawn listing disappears at the next harvest."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.api.live import live_server
from tests.store.listing import through_pipeline
from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.errors import Conflict, InvalidInput
from tweeling.services import federation, store
from tweeling.storage.db import Database, open_database

APPS = Path(__file__).resolve().parents[2] / "apps"


def _store(db: Database, key: object, apps: tuple[str, ...]) -> Principal:
    """A store with these reference apps published and approved; returns its market master."""
    with db.begin() as conn:
        identity.bootstrap(conn)
        provider = identity.create_organisation(conn, "Stadslab BV", "provider", actor="t")
        master = identity.get_organisation(conn, identity.MARKET_MASTER)
    developer = Principal(0, "dev@stadslab.nl", provider, frozenset({Role.developer}))
    admin = Principal(0, identity.FIRST_ADMIN, master, frozenset({Role.admin}))
    for app in apps:
        store.publish(db, developer, packages.from_path(APPS / app, key))  # type: ignore[arg-type]
        through_pipeline(db, f"{app}@0.1.0")
    return admin


def test_two_stores_harvest_each_other(db: Database, tmp_path: Path) -> None:
    packages.generate_key(tmp_path / "key.pem")
    key = packages.load_key(tmp_path / "key.pem")
    hub = db
    spoke = open_database(f"sqlite:///{tmp_path / 'spoke.db'}")
    spoke.migrate()
    try:
        hub_master = _store(hub, key, ("solar-potential", "sun-hours-and-shade"))
        spoke_master = _store(spoke, key, ("heat-stress",))
        with (
            live_server(create_app(hub, run_jobs=False)) as hub_url,
            live_server(create_app(spoke, run_jobs=False)) as spoke_url,
        ):
            done = federation.harvest(spoke, spoke_master, f"{hub_url}/records", 3600)
            assert done.records == 2
            found = store.find(spoke, spoke_master, "zonnepanelen")
            assert found.total == 1
            hit = found.hits[0]
            assert hit.facets["origin"] == hub_url and hit.facets["remote_id"] == "solar-potential"
            assert store.find(spoke, spoke_master, "").facets["origin"] == {
                hub_url: 2,
                "local": 1,
            }
            # no wrong door: the spoke refers acquisition to the hub
            with pytest.raises(Conflict, match=f"acquire it at its home: {hub_url}/records"):
                store.show(spoke, spoke_master, str(hit.facets["app_id"]))

            # The spoke's catalogue shows the hub's records marked with their origin; the
            # hub harvesting the spoke takes only the spoke's own app, nothing echoes back.
            page = httpx.get(f"{spoke_url}/records/collections/apps/items?q=zonnepanelen").json()
            shown = page["features"][0]
            assert shown["id"] == "solar-potential"
            assert shown["properties"]["tweeling:origin"].startswith(hub_url)
            canonical = next(link for link in shown["links"] if link["rel"] == "canonical")
            assert canonical["href"] == f"{hub_url}/records/collections/apps/items/solar-potential"
            assert (
                httpx.get(canonical["href"]).json()["properties"]["title"]
                == (shown["properties"]["title"])
            )
            back = federation.harvest(hub, hub_master, f"{spoke_url}/records", 3600)
            assert back.records == 1
            ids = {h.facets.get("remote_id") or h.facets["app_id"]
                   for h in store.find(hub, hub_master, "").hits}  # fmt: skip
            assert ids == {"solar-potential", "sun-hours-and-shade", "heat-stress"}

            store.decide_version(hub, hub_master, "sun-hours-and-shade@0.1.0", "suspended", "bug")
            assert federation.harvest(spoke, spoke_master, f"{hub_url}/records").records == 1
            assert federation.harvest_due(spoke) == []  # harvested just now
            with spoke.begin() as conn:
                conn.execute(text("UPDATE store_harvest_sources SET last_at = NULL"))
            assert [h.records for h in federation.harvest_due(spoke)] == [1]

            with pytest.raises(InvalidInput, match="cannot reach"):
                federation.harvest(spoke, spoke_master, "http://127.0.0.1:9/records")
            with pytest.raises(InvalidInput, match="not an http"):
                federation.harvest(spoke, spoke_master, "ftp://example.nl/records")
    finally:
        spoke.dispose()
