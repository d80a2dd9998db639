"""The schema package: one MetaData over every context's tables, all importable from
``tweeling.storage.schema``, matching what the migrations made (autogenerate finds nothing
to do), and JSON columns that give Python values back on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Table, insert, select, text

from tweeling.storage import schema
from tweeling.storage.db import Database
from tweeling.storage.schema import Json, datasets, declared_here, metadata, twins

CONTEXTS = ("twin", "access", "audit", "apps", "store", "accreditation", "participation")


def test_every_table_is_in_one_metadata_and_importable_from_the_package() -> None:
    exported = {v.name for v in vars(schema).values() if isinstance(v, Table)}
    assert exported == set(metadata.tables)
    by_context: dict[str, set[str]] = {}
    for context in CONTEXTS:
        module = getattr(schema, context)
        by_context[context] = {v.name for v in vars(module).values() if isinstance(v, Table)}
    assert set().union(*by_context.values()) == set(metadata.tables)
    assert sum(len(names) for names in by_context.values()) == len(metadata.tables)


# SQLAlchemy cannot reflect PostGIS's geometry type (the footprint column): its type is then
# not compared, all else is.
@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")
def test_autogenerate_finds_nothing_to_do_on_a_migrated_database(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_object": declared_here(conn.dialect.name)},
        )
        assert compare_metadata(context, metadata) == []


def test_json_columns_give_python_values(db: Database) -> None:
    meta = {"extensions": {"+Noise": {"url": "https://x.nl"}}, 3: "non-text key", "é": "ü"}
    counts = {"Building": np.int64(2), "share": np.float64(0.5)}
    with db.begin() as conn:
        twin_id = conn.execute(
            insert(twins)
            .values(name="delft", crs="EPSG:7415", last_seq=0, created_at=datetime.now(UTC))
            .returning(twins.c.id)
        ).scalar_one()
        scenario_id = conn.execute(
            text(
                "INSERT INTO scenarios (twin_id, name, kind, created_by, created_at) "
                "VALUES (:t, 'current', 'current', 'me', :at) RETURNING id"
            ),
            {"t": twin_id, "at": datetime.now(UTC)},
        ).scalar_one()
        conn.execute(
            insert(datasets).values(
                twin_id=twin_id,
                scenario_id=scenario_id,
                seq=1,
                name="d",
                format="cityjson",
                source="d.json",
                crs="EPSG:7415",
                counts=counts,
                quality={},
                meta=meta,
                imported_by="me",
                imported_at=datetime.now(UTC),
            )
        )
    expected_meta = {
        "extensions": {"+Noise": {"url": "https://x.nl"}},
        "3": "non-text key",
        "é": "ü",
    }
    with db.read() as conn:
        row = conn.execute(select(datasets.c.counts, datasets.c.meta)).one()
        raw = conn.execute(text("SELECT meta FROM datasets").columns(meta=Json)).scalar_one()
    assert row.counts == {"Building": 2, "share": 0.5}
    assert row.meta == expected_meta
    assert raw == expected_meta


def test_json_written_by_the_standard_library_reads_back(db: Database) -> None:
    # Rows written before the columns used orjson: spaces after separators, escaped non-ASCII.
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO store_listings (app_id, created_by, created_at, remote_record) "
                "VALUES ('a', 'me', :at, :doc)"
            ),
            {"at": datetime.now(UTC), "doc": '{"title": "Caf\\u00e9", "n": [1, 2.5]}'},
        )
    with db.read() as conn:
        doc = conn.execute(select(schema.store_listings.c.remote_record)).scalar_one()
    assert doc == {"title": "Café", "n": [1, 2.5]}
