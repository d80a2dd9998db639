"""Storage backends: what differs between SQLite (embedded) and PostgreSQL + PostGIS.

Only bulk loading and the spatial index differ; everything else is the same SQLAlchemy
Core. Each backend is a small class behind the :class:`SpatialBackend` protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import psycopg
import shapely
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tweeling.storage.schema import OBJECT_COLUMNS

# Bulk rows are plain tuples in this column order (no primary key: the backend assigns it).
# The last column, footprint_crs84, arrives as ISO WKB bytes (or None).
INSERT_COLUMNS: tuple[str, ...] = OBJECT_COLUMNS[1:]
ObjectRow = tuple[Any, ...]
BBox2D = tuple[float, float, float, float]


class SpatialBackend(Protocol):
    name: str

    def insert_objects(self, conn: Connection, rows: Sequence[ObjectRow]) -> None:
        """Append city-object rows and index them spatially."""

    def bbox_source(self, alias: str) -> str:
        """A FROM clause giving city_objects as ``alias``, driven by the spatial index so that
        only rows whose CRS84 box meets :x1 :y1 :x2 :y2 are read."""

    def delete_scenario_rows(self, conn: Connection, scenario_ids: Sequence[int]) -> None:
        """Remove every row of these scenarios, index entries included."""

    def footprint_wkb(self, alias: str) -> str:
        """SQL giving the CRS84 footprint of ``alias`` as WKB."""

    def refresh_statistics(self, conn: Connection) -> None:
        """Update the planner's statistics after a bulk load, so that it keeps choosing the
        object-id index for single objects and the layer index for pages."""


class SQLiteBackend:
    """SQLite with the built-in R*Tree module as spatial index."""

    name = "sqlite"
    _insert = (
        f"INSERT INTO city_objects (pk, {', '.join(INSERT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * (len(INSERT_COLUMNS) + 1))})"
    )
    _insert_rtree = "INSERT INTO city_objects_rtree VALUES (?, ?, ?, ?, ?)"
    _lon_min = INSERT_COLUMNS.index("lon_min")

    def insert_objects(self, conn: Connection, rows: Sequence[ObjectRow]) -> None:
        if not rows:
            return
        # The caller's transaction already wrote (its edit row), so SQLite holds the write
        # lock and no other writer can take the same primary keys between here and the insert.
        start = conn.exec_driver_sql("SELECT coalesce(max(pk), 0) FROM city_objects").scalar_one()
        i = self._lon_min
        conn.exec_driver_sql(self._insert, [(start + n + 1, *row) for n, row in enumerate(rows)])
        boxes = [
            (start + n + 1, row[i], row[i + 2], row[i + 1], row[i + 3])
            for n, row in enumerate(rows)
            if row[i] is not None
        ]
        if boxes:
            conn.exec_driver_sql(self._insert_rtree, boxes)

    def delete_scenario_rows(self, conn: Connection, scenario_ids: Sequence[int]) -> None:
        ids = _ids(scenario_ids)
        conn.exec_driver_sql(
            "DELETE FROM city_objects_rtree WHERE id IN "
            f"(SELECT pk FROM city_objects WHERE scenario_id IN ({ids}))"
        )
        conn.exec_driver_sql(f"DELETE FROM city_objects WHERE scenario_id IN ({ids})")

    def footprint_wkb(self, alias: str) -> str:
        return f"{alias}.footprint_crs84"

    def refresh_statistics(self, conn: Connection) -> None:
        # A sampled ANALYZE takes milliseconds whatever the table's size.
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE city_objects")

    def bbox_source(self, alias: str) -> str:
        # CROSS JOIN fixes SQLite's join order: R*Tree first, then rows by primary key. Left
        # to itself the planner may prefer an index on scenario_id and scan a whole city.
        return (
            "(SELECT id FROM city_objects_rtree WHERE lon_min <= :x2 AND lon_max >= :x1 "
            f"AND lat_min <= :y2 AND lat_max >= :y1) AS hits CROSS JOIN city_objects {alias} "
            f"ON {alias}.pk = hits.id"
        )


def _ids(scenario_ids: Sequence[int]) -> str:
    return ", ".join(str(int(i)) for i in scenario_ids) or "NULL"


class PostGISBackend:
    """PostgreSQL + PostGIS: COPY for bulk loads, a GiST index on the CRS84 footprint."""

    name = "postgresql"
    _copy = f"COPY city_objects ({', '.join(INSERT_COLUMNS)}) FROM STDIN"

    def insert_objects(self, conn: Connection, rows: Sequence[ObjectRow]) -> None:
        if not rows:
            return
        wkbs = [row[-1] for row in rows]
        ewkb = _ewkb_hex([w for w in wkbs if w is not None])
        it = iter(ewkb)
        raw = conn.connection.driver_connection
        assert raw is not None
        try:
            with raw.cursor() as cur, cur.copy(self._copy) as copy:
                for row, wkb in zip(rows, wkbs, strict=True):
                    copy.write_row((*row[:-1], next(it) if wkb is not None else None))
        except psycopg.errors.IntegrityError as exc:
            # Raw COPY bypasses SQLAlchemy; report it the way SQLite's path reports it.
            raise IntegrityError(self._copy, None, exc) from exc

    def delete_scenario_rows(self, conn: Connection, scenario_ids: Sequence[int]) -> None:
        conn.exec_driver_sql(
            f"DELETE FROM city_objects WHERE scenario_id IN ({_ids(scenario_ids)})"
        )

    def refresh_statistics(self, conn: Connection) -> None:
        conn.exec_driver_sql("ANALYZE city_objects")  # samples a bounded number of rows

    def footprint_wkb(self, alias: str) -> str:
        return f"ST_AsBinary({alias}.footprint_crs84)"

    def bbox_source(self, alias: str) -> str:
        return (
            f"(SELECT * FROM city_objects WHERE footprint_crs84 && "
            f"ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)) AS {alias}"
        )


def _ewkb_hex(wkbs: Sequence[bytes]) -> list[str]:
    if not wkbs:
        return []
    geoms = shapely.set_srid(shapely.from_wkb(list(wkbs)), 4326)
    return [str(h) for h in shapely.to_wkb(geoms, hex=True, include_srid=True)]


def backend_for(dialect: str) -> SpatialBackend:
    if dialect == "sqlite":
        return SQLiteBackend()
    if dialect == "postgresql":
        return PostGISBackend()
    raise ValueError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")
