"""Upgrading a database keeps its data."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import select

from tweeling.storage.db import _alembic_config, open_database
from tweeling.storage.schema import scenarios, twins
from tweeling.twin.ingest import ingest
from tweeling.twin.scenarios import create_scenario, diff

HEAD = ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_upgrade_from_twin_core_keeps_twins(tmp_path: Path, samples: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    assert db.migrate("0001") == (None, "0001")
    # a twin written by the first schema (without owners) ...
    db.engine.dispose()
    with db.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO twins (name, crs, last_seq, created_at) "
            "VALUES ('old', 'EPSG:7415', 0, '2026-01-01 00:00:00')"
        )
        twin_id = conn.exec_driver_sql("SELECT id FROM twins").scalar_one()
        conn.exec_driver_sql(
            "INSERT INTO scenarios (twin_id, name, kind, created_by, created_at) "
            f"VALUES ({twin_id}, 'current', 'current', 'me', '2026-01-01 00:00:00')"
        )
    before, after = db.migrate()
    assert (before, after) == ("0001", HEAD)
    with db.read() as conn:
        row = conn.execute(select(twins.c.name, twins.c.public, twins.c.owner_org_id)).one()
        assert tuple(row) == ("old", False, None)
        assert conn.execute(select(scenarios.c.name)).scalars().all() == ["current"]
    # ... keeps working after the upgrade
    report = ingest(db, samples / "3dbag_multi_lod.city.json", "old", crs="EPSG:7415")
    assert report.objects == 10
    create_scenario(db, "old", "plan")
    assert diff(db, "old", "current", "plan").as_json()["summary"]["added"] == 0
    assert db.migrate() == (HEAD, HEAD)
