"""The usage log's batching: every read lands, per dataset, without a write per request."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from tweeling.access.identity import local_operator
from tweeling.services import usage
from tweeling.storage.db import Database
from tweeling.storage.schema import usage_log
from tweeling.twin.ingest import DatasetInfo, ingest
from tweeling.twin.twins import get_twin


def _count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(usage_log)).scalar_one())


def test_reads_are_written_in_batches_one_row_per_dataset(db: Database, samples: Path) -> None:
    ingest(db, samples / "delft.city.json", "delft")
    ingest(
        db,
        samples / "3dbag_multi_lod.city.json",
        "delft",
        crs="EPSG:7415",
        info=DatasetInfo(source="3D BAG"),
    )  # a second dataset in the same twin
    with db.read() as conn:
        twin = get_twin(conn, "delft")
    who = local_operator("tester")
    rec = usage.recorder(db)
    assert usage.recorder(db) is rec
    for _ in range(3):
        rec.record(who, twin.id, "testing", "ogc:features")
    assert _count(db) == 0  # pending, not yet written
    assert usage.flush(db) == 3
    assert _count(db) == 6  # 3 reads × 2 datasets
    assert usage.flush(db) == 0
    # a full batch is written by the request that fills it
    for _ in range(usage.MAX_PENDING):
        rec.record(who, twin.id, None, "3dtiles:tile")
    assert _count(db) == 6 + 2 * usage.MAX_PENDING
    # and a lone read is written by the background thread about a second later
    rec.record(who, twin.id, None, "read")
    deadline = time.monotonic() + 10
    while _count(db) == 6 + 2 * usage.MAX_PENDING and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count(db) == 8 + 2 * usage.MAX_PENDING
    with db.read() as conn:
        purposes = {p for (p,) in conn.execute(select(usage_log.c.purpose).distinct())}
    assert purposes == {"testing", None}
