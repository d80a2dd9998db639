"""Twins and their scenarios as records: creating, finding and listing them."""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update

from tweeling.clock import SYSTEM_CLOCK
from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.storage.db import clock_of
from tweeling.storage.schema import city_objects, datasets, scenarios, twins
from tweeling.twin.crs import is_geographic, parse_crs
from tweeling.twin.model import ScenarioKind

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def now() -> datetime:
    """The system clock's time, for callers with no database at hand (tests, scripts); the
    domain reads ``storage.db.clock_of(conn)`` or ``Database.clock`` instead."""
    return SYSTEM_CLOCK.now()


def default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}: use letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit, at most 200 characters)"
        )
    return name


@dataclass(frozen=True)
class Twin:
    id: int
    name: str
    crs: str
    title: str | None
    owner: str | None
    last_seq: int
    created_at: datetime
    owner_org_id: int | None = None
    public: bool = False


@dataclass(frozen=True)
class Scenario:
    id: int
    twin_id: int
    name: str
    kind: str
    label: str | None
    description: str | None
    parent_id: int | None
    fork_seq: int | None
    created_by: str
    created_at: datetime


# Built once: every API request looks up its twin and scenario, and building a statement
# costs more than SQLite takes to run it.
_TWIN_BY_NAME = select(twins).where(twins.c.name == bindparam("name"))
_SCENARIO_BY_NAME = select(scenarios).where(
    scenarios.c.twin_id == bindparam("twin_id"), scenarios.c.name == bindparam("name")
)
_SCENARIO_BY_ID = select(scenarios).where(scenarios.c.id == bindparam("id"))


def get_twin(conn: Connection, name: str) -> Twin:
    row = conn.execute(_TWIN_BY_NAME, {"name": name}).mappings().first()
    if row is None:
        raise NotFound(f"no twin named {name!r}")
    return Twin(**{k: row[k] for k in Twin.__dataclass_fields__})


def find_twin(conn: Connection, name: str) -> Twin | None:
    try:
        return get_twin(conn, name)
    except NotFound:
        return None


def create_twin(
    conn: Connection,
    name: str,
    crs: str,
    *,
    title: str | None = None,
    owner: str | None = None,
    owner_org_id: int | None = None,
    author: str | None = None,
) -> Twin:
    check_name("twin", name)
    crs = parse_crs(crs)
    if is_geographic(crs):
        raise InvalidInput(
            f"a twin needs a projected CRS in metres, not {crs}; choose one with --twin-crs "
            "(RD New + NAP is EPSG:7415)"
        )
    if find_twin(conn, name) is not None:
        raise Conflict(f"a twin named {name!r} already exists")
    created = clock_of(conn).now()
    twin_id = conn.execute(
        insert(twins)
        .values(
            name=name,
            crs=crs,
            title=title,
            owner=owner,
            owner_org_id=owner_org_id,
            public=False,
            last_seq=0,
            created_at=created,
        )
        .returning(twins.c.id)
    ).scalar_one()
    conn.execute(
        insert(scenarios).values(
            twin_id=twin_id,
            name="current",
            kind=ScenarioKind.current.value,
            label="Current reality",
            created_by=author or default_author(),
            created_at=created,
        )
    )
    return get_twin(conn, name)


def next_seq(conn: Connection, twin: Twin) -> int:
    """Take the twin's next edit number; this write also serialises writers per twin."""
    seq: int = conn.execute(
        update(twins)
        .where(twins.c.id == twin.id)
        .values(last_seq=twins.c.last_seq + 1)
        .returning(twins.c.last_seq)
    ).scalar_one()
    return seq


def get_scenario(conn: Connection, twin: Twin, name: str) -> Scenario:
    row = conn.execute(_SCENARIO_BY_NAME, {"twin_id": twin.id, "name": name}).mappings().first()
    if row is None:
        raise NotFound(f"twin {twin.name!r} has no scenario named {name!r}")
    return _scenario(row)


def scenario_by_id(conn: Connection, scenario_id: int) -> Scenario:
    row = conn.execute(_SCENARIO_BY_ID, {"id": scenario_id}).mappings().one()
    return _scenario(row)


def list_scenarios(conn: Connection, twin: Twin) -> list[Scenario]:
    rows = conn.execute(
        select(scenarios).where(scenarios.c.twin_id == twin.id).order_by(scenarios.c.id)
    ).mappings()
    return [_scenario(r) for r in rows]


def _scenario(row: object) -> Scenario:
    return Scenario(**{k: row[k] for k in Scenario.__dataclass_fields__})  # type: ignore[index]


@dataclass(frozen=True)
class TwinSummary:
    twin: Twin
    scenarios: list[str]
    datasets: int
    objects: int


def list_twins(conn: Connection) -> list[TwinSummary]:
    out = []
    for row in conn.execute(select(twins).order_by(twins.c.name)).mappings():
        twin = Twin(**{k: row[k] for k in Twin.__dataclass_fields__})
        current = get_scenario(conn, twin, "current")
        n_objects = conn.execute(
            select(func.count())
            .select_from(city_objects)
            .where(
                city_objects.c.scenario_id == current.id,
                city_objects.c.valid_to.is_(None),
                city_objects.c.deleted.is_(False),
            )
        ).scalar_one()
        n_datasets = conn.execute(
            select(func.count()).select_from(datasets).where(datasets.c.twin_id == twin.id)
        ).scalar_one()
        out.append(
            TwinSummary(twin, [s.name for s in list_scenarios(conn, twin)], n_datasets, n_objects)
        )
    return out
