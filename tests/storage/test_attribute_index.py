"""Indexed attributes: the same answers as without the index, found through the index."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text

from tweeling.access.identity import local_operator
from tweeling.api.deps import ANONYMOUS
from tweeling.errors import Conflict, Forbidden, InvalidInput, NotFound
from tweeling.services import attributes
from tweeling.services import features as service
from tweeling.storage import attribute_index, filters
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest
from tweeling.twin.model import CityObject
from tweeling.twin.scenarios import Changes, create_scenario, edit
from tweeling.twin.synth import write_cityjsonseq
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import iter_objects, view_of

FILTERS = [
    "b3_h_dak_max > 30",
    "b3_h_dak_max <= 4.5",
    "b3_h_dak_max BETWEEN 10 AND 12",
    "b3_h_dak_max > 5 AND b3_h_dak_max < 5.5",
    "b3_h_dak_max > 2",  # matches most
    "oorspronkelijkbouwjaar = 1975",
    "b3_h_dak_max > 30 OR oorspronkelijkbouwjaar < 1900",
]


@pytest.fixture(scope="module")
def district(module_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Database:
    path = tmp_path_factory.mktemp("synth") / "district.city.jsonl"
    write_cityjsonseq(path, 4000, seed=3)
    ingest(module_db, path, "district")
    with module_db.begin() as conn:
        conn.execute(text("UPDATE twins SET public = TRUE"))
    return module_db


def _ids(db: Database, cql: str, scenario: str = "current") -> list[str]:
    page = service.items(
        db, ANONYMOUS, "district", "buildings", scenario=scenario, cql=cql, limit=10_000
    )
    return [p.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode() for p in page.features]


def _truth(db: Database, cql: str, scenario: str = "current") -> list[str]:
    """The filter evaluated in Python over every object, no SQL involved."""
    height, year = "b3_h_dak_max", "oorspronkelijkbouwjaar"
    checks = {
        FILTERS[0]: lambda a: _num(a, height) is not None and a[height] > 30,
        FILTERS[1]: lambda a: _num(a, height) is not None and a[height] <= 4.5,
        FILTERS[2]: lambda a: _num(a, height) is not None and 10 <= a[height] <= 12,
        FILTERS[3]: lambda a: _num(a, height) is not None and 5 < a[height] < 5.5,
        FILTERS[4]: lambda a: _num(a, height) is not None and a[height] > 2,
        FILTERS[5]: lambda a: _num(a, year) == 1975,
        FILTERS[6]: lambda a: (
            (_num(a, height) is not None and a[height] > 30)
            or (_num(a, year) is not None and a[year] < 1900)
        ),
    }
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "district"), scenario))
        return [
            o.object_id
            for o in iter_objects(conn, view, layer="buildings")
            if checks[cql](o.attributes)
        ]


def _num(attrs: dict[str, object], name: str) -> float | None:
    v = attrs.get(name)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None  # type: ignore[return-value]


def test_indexed_filters_answer_as_unindexed_ones(district: Database) -> None:
    operator = local_operator("tester")
    before = {cql: _ids(district, cql) for cql in FILTERS}
    for cql in FILTERS:
        assert before[cql] == _truth(district, cql), cql
    total = len(_ids(district, "b3_h_dak_max > -1000"))
    assert all(0 < len(before[c]) < total / 2 for c in FILTERS if c != FILTERS[4])
    assert len(before[FILTERS[4]]) > total / 2
    attributes.add_index(district, operator, "b3_h_dak_max", "number")
    attributes.add_index(district, operator, "oorspronkelijkbouwjaar", "number")
    assert attributes.indexes(district) == {
        "b3_h_dak_max": "number",
        "oorspronkelijkbouwjaar": "number",
    }
    for cql in FILTERS:  # the same objects (in index order where the filter follows one)
        assert sorted(_ids(district, cql)) == sorted(before[cql]), cql
    # a scenario sees its ancestors' rows through the index too, and its own edits
    create_scenario(district, "district", "taller")
    target = before[FILTERS[0]][0]
    edit(
        district,
        "district",
        "taller",
        Changes(modify=[CityObject(id=target, type="Building", attributes={"b3_h_dak_max": 1.0})]),
        reason="test",
        author="tester",
    )
    for cql in FILTERS:
        assert sorted(_ids(district, cql, "taller")) == sorted(_truth(district, cql, "taller"))
    assert target not in _ids(district, FILTERS[0], "taller")
    attributes.drop_index(district, operator, "b3_h_dak_max")
    attributes.drop_index(district, operator, "oorspronkelijkbouwjaar")
    assert attributes.indexes(district) == {}
    for cql in FILTERS:
        assert _ids(district, cql) == before[cql], cql


def test_filtered_pages_follow_the_index(district: Database) -> None:
    """A page filtered on an indexed attribute is read in the index's order, (value, key),
    from the index itself: no sort of all matches, no walk through the layer."""
    attributes.add_index(district, local_operator("tester"), "b3_h_dak_max", "number")
    ix = attribute_index.index_name("b3_h_dak_max", "number")
    try:
        page = service.items(
            district, ANONYMOUS, "district", "buildings", cql="b3_h_dak_max > 20", limit=50
        )
        heights = [orjson.loads(f)["properties"]["b3_h_dak_max"] for f in page.features]
        assert len(heights) == 50 and heights == sorted(heights) and heights[0] > 20
        # paging on: the next page continues where this one ended
        more = service.items(
            district,
            ANONYMOUS,
            "district",
            "buildings",
            cql="b3_h_dak_max > 20",
            limit=50,
            offset=50,
        )
        assert orjson.loads(more.features[0])["properties"]["b3_h_dak_max"] >= heights[-1]
        with district.begin() as conn:
            if district.backend.name == "postgresql":
                conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: force the choice
            value = attribute_index.value_sql(district.backend.name, "b3_h_dak_max", "number")
            source = attribute_index.ordered_source(district.backend.name, "b3_h_dak_max", "number")
            explain = "EXPLAIN QUERY PLAN" if district.backend.name == "sqlite" else "EXPLAIN"
            plan = " ".join(
                " ".join(str(c) for c in row)
                for row in conn.exec_driver_sql(
                    f"{explain} SELECT o.pk FROM {source or 'city_objects o'} "
                    f"WHERE {value} > 20 ORDER BY {value}, o.pk LIMIT 50"
                )
            )
        assert ix in plan, plan
        assert "TEMP B-TREE" not in plan  # SQLite: no sort of the matches
    finally:
        attributes.drop_index(district, local_operator("tester"), "b3_h_dak_max")


def test_which_filters_follow_an_index() -> None:
    indexed = {"height": "number", "naam": "text"}

    def follow(cql: str) -> tuple[str, str] | None:
        return filters.index_to_follow(filters.parse(cql), indexed)

    assert follow("height > 3") == ("height", "number")
    assert follow("height BETWEEN 1 AND 2") == ("height", "number")
    assert follow("other = 1 AND height <= 3") == ("height", "number")
    assert follow("naam = 'a'") == ("naam", "text")
    assert follow("height > 3 OR other = 1") is None  # an OR can match outside the index's range
    assert follow("height <> 3") is None
    assert follow("NOT height > 3") is None
    assert follow("height = 'tall'") is None  # a text value on a number index
    assert follow("other > 3") is None


def test_only_the_operator_manages_indexes_and_errors_are_clear(district: Database) -> None:
    with pytest.raises(Forbidden, match="platform operator"):
        attributes.add_index(district, ANONYMOUS, "b3_h_dak_max", "number")
    operator = local_operator("tester")
    with pytest.raises(InvalidInput, match="not an attribute name"):
        attributes.add_index(district, operator, "x'); DROP TABLE twins; --", "number")
    with pytest.raises(InvalidInput, match="unknown kind"):
        attributes.add_index(district, operator, "b3_h_dak_max", "date")
    with pytest.raises(NotFound, match="not indexed"):
        attributes.drop_index(district, operator, "b3_h_dak_max")
    attributes.add_index(district, operator, "identificatie", "text")
    try:
        with pytest.raises(Conflict, match="already indexed"):
            attributes.add_index(district, operator, "identificatie", "text")
    finally:
        attributes.drop_index(district, operator, "identificatie")
    with district.read() as conn:
        assert get_twin(conn, "district").name == "district"  # nothing was dropped
