"""The reference apps (apps/ at the repository root) run through the platform on Delft, on the
current city and on a plan with a 70 m tower: they pass `tweeling app check`, run in the
sandbox, store their results, and the tower's shadow shows in the scenario comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import shapely
from typer.testing import CliRunner

from tests.cli.test_cli import run as run_cli
from tweeling.apps import packages
from tweeling.apps.runs import RunRecord, Runtime
from tweeling.cli.demo import add_tower_scenario
from tweeling.cli.main import app as cli
from tweeling.services import apps as service
from tweeling.twin.ingest import ingest
from tweeling.twin.scenarios import diff
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import iter_objects, view_of

from .conftest import OPERATOR

REFERENCE_APPS = Path(__file__).resolve().parents[2] / "apps"
TOWER = "demo-tower-1"


@pytest.fixture(scope="module")
def with_tower(runtime: Runtime) -> Runtime:
    """The current city, and the demo's plan: a 70 m tower south of a cluster of buildings."""
    add_tower_scenario(runtime.db, "delft")
    return runtime


def _run(runtime: Runtime, app: str, scenario: str, **overrides: Any) -> RunRecord:
    record = service.run(
        runtime,
        OPERATOR,
        "delft",
        scenario=scenario,
        package=packages.from_path(REFERENCE_APPS / app),
        overrides=overrides or None,
        purpose="tests",
    )
    assert record.status == "successful", record.message
    assert not record.flags, record.flags
    return record


def _centres(runtime: Runtime, scenario: str) -> dict[str, Any]:
    with runtime.db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), scenario))
        objects = [(o.object_id, o.to_city_object()) for o in iter_objects(conn, view)]
    return {
        oid: shapely.MultiPoint([v[:2] for v in city.vertices]).centroid
        for oid, city in objects
        if city.type == "Building" and city.vertices
    }


@pytest.mark.parametrize("app", ["solar-potential", "sun-hours-and-shade", "heat-stress"])
def test_reference_apps_pass_the_check(app: str) -> None:
    result = CliRunner().invoke(cli, ["app", "check", str(REFERENCE_APPS / app)])
    assert result.exit_code == 0, result.output
    assert f"ok {app}" in result.output


@pytest.fixture(scope="module")
def solar(with_tower: Runtime) -> dict[str, RunRecord]:
    return {s: _run(with_tower, "solar-potential", s) for s in ("current", "tower")}


def test_solar_roofs_of_delft_fall_in_the_dutch_range(solar: dict[str, RunRecord]) -> None:
    outputs = solar["current"].outputs
    horizontal = outputs["indicators"]["horizontal_irradiation_kwh_m2"]
    # The shipped year: KNMI De Bilt 2021 measured about 1,030 kWh/m² on open level ground,
    # a normal Dutch year (the long-term mean lies near 1,000-1,050).
    assert 1000 < horizontal < 1060
    roofs = outputs["attributes"]["roof_irradiation_kwh_m2"]
    assert len(roofs) == 160  # every building of the sample has a roof
    values = sorted(roofs.values())
    # Delft's roofs are flat (LoD1 blocks): an unshaded flat roof receives what open ground
    # does, within the cumulative sky's binning; none can receive more.
    assert values[-1] == pytest.approx(horizontal, rel=0.01)
    unshaded = [v for v in values if v >= 0.97 * horizontal]
    assert len(unshaded) > 80
    assert all(900 <= v <= 1100 for v in unshaded)
    # Roofs beside taller neighbours lose part of their sky and sun, never all of it.
    assert 400 < values[0] < 950
    yields = outputs["attributes"]["yield_kwh"]
    usable = outputs["attributes"]["usable_area_m2"]
    for oid, kwh in yields.items():
        # usable area × irradiation × 0.2 efficiency × 0.8 performance (areas are rounded)
        assert kwh <= (usable[oid] + 0.05) * values[-1] * 0.2 * 0.8
        assert (kwh > 0) == (usable[oid] > 0)


def test_the_tower_lowers_its_neighbours_solar_potential(
    with_tower: Runtime, solar: dict[str, RunRecord]
) -> None:
    name = "solar-potential.roof_irradiation_kwh_m2"
    changes = diff(with_tower.db, "delft", "current", "tower")
    assert TOWER in {c.object_id for c in changes.added}
    lowered = {
        c.object_id: attr.new - attr.old
        for c in changes.modified
        for attr in c.attributes
        if attr.name == name and attr.old is not None and attr.new is not None
    }
    assert sum(1 for d in lowered.values() if d < -1) >= 20
    assert all(d <= 0.5 for d in lowered.values())  # a tower adds no sun to anyone
    # The buildings within 150 m north of the tower lose the most: its shadow falls there.
    centres = _centres(with_tower, "tower")
    tower = centres[TOWER]
    north = [
        oid
        for oid, c in centres.items()
        if oid != TOWER and c.y > tower.y and abs(c.x - tower.x) < c.y - tower.y
    ]
    south = [oid for oid, c in centres.items() if oid != TOWER and c.y < tower.y]
    nearest_north = sorted(north, key=lambda oid: centres[oid].distance(tower))[:10]
    assert min(lowered.get(oid, 0.0) for oid in nearest_north) < -100
    worst = sorted(lowered, key=lambda oid: lowered[oid])[:10]
    assert sum(oid in north for oid in worst) >= 8
    if south:  # behind the sun's path, a tower takes only some of the northern sky
        assert min(lowered.get(oid, 0.0) for oid in south) > -60
    assert solar["tower"].outputs["attributes"]["roof_irradiation_kwh_m2"][TOWER] == (
        pytest.approx(solar["current"].outputs["indicators"]["horizontal_irradiation_kwh_m2"], 0.01)
    )


def test_the_plan_compared_with_the_current_city(
    with_tower: Runtime, solar: dict[str, RunRecord], tmp_path: Path
) -> None:
    a, b = solar["current"], solar["tower"]
    comparison = service.compare(with_tower.db, OPERATOR, a.run_id, b.run_id, top=3)
    roofs = {x.name: x for x in comparison.attributes}["roof_irradiation_kwh_m2"]
    assert roofs.only_b == [TOWER] and roofs.only_a == []
    assert roofs.both == 160 and roofs.raised == 0 and roofs.lowered >= 20
    assert roofs.unit == "kW.h/m2/a"
    assert roofs.least_change is not None and roofs.least_change < -100
    assert [x["change"] for x in roofs.largest] == sorted(x["change"] for x in roofs.largest)
    total = {i["name"]: i for i in comparison.indicators}["total_usable_area_m2"]
    assert total["change"] == pytest.approx(total["b"] - total["a"])
    url = with_tower.db.engine.url.render_as_string(hide_password=False)
    result = run_cli(["run", "compare", a.run_id, b.run_id, "--json"], tmp_path, url)
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["attributes"][0]["name"] == "facade_irradiation_kwh_m2"
    text = run_cli(["run", "compare", a.run_id, b.run_id], tmp_path, url).stdout
    assert f"{roofs.lowered} lowered" in text


def test_sun_hours_and_shade_on_delft(with_tower: Runtime) -> None:
    current = _run(with_tower, "sun-hours-and-shade", "current")
    tower = _run(with_tower, "sun-hours-and-shade", "tower")
    indicators = current.outputs["indicators"]
    # 21 March, 21 June, 21 December: the open ground's mean follows the day length
    # (12.2, 16.7 and 7.7 h at Delft), less the shade of the buildings.
    assert 8 < indicators["ground_mean_sun_hours_day1"] < 12.3
    assert 11 < indicators["ground_mean_sun_hours_day2"] < 16.8
    assert 3 < indicators["ground_mean_sun_hours_day3"] < 7.8
    layer = current.outputs["layers"]["ground_sun_and_shade"]
    assert len(layer["features"]) == indicators["ground_cells"]
    assert {"sun_hours_2026-03-21", "shade_2026-03-21T12:00"} <= set(
        layer["features"][0]["properties"]
    )

    # In the plan, the tower's December shadow takes sun from the ground and from roofs.
    # The grids share a lattice, so cells of both scenarios compare one to one.
    def hours(record: RunRecord) -> dict[tuple[float, float], float]:
        cells = record.outputs["layers"]["ground_sun_and_shade"]["features"]
        return {
            tuple(c["geometry"]["coordinates"][0][0]): c["properties"]["sun_hours_2026-12-21"]
            for c in cells
        }

    ground_before, ground_after = hours(current), hours(tower)
    shared = set(ground_before) & set(ground_after)
    assert len(shared) > 0.9 * len(ground_before)
    darker = [k for k in shared if ground_after[k] < ground_before[k] - 1]
    assert len(darker) > 200  # more than 800 m² loses an hour of December sun or more
    assert all(ground_after[k] <= ground_before[k] + 1e-9 for k in shared)
    before = current.outputs["attributes"]["roof_sun_hours_day3"]
    after = tower.outputs["attributes"]["roof_sun_hours_day3"]
    assert sum(1 for oid in before if after[oid] < before[oid] - 0.1) >= 3
    assert all(after[oid] <= before[oid] + 1e-9 for oid in before)


def test_heat_stress_on_delft_and_under_the_tower(with_tower: Runtime) -> None:
    current = _run(with_tower, "heat-stress", "current")
    tower = _run(with_tower, "heat-stress", "tower")
    indicators = current.outputs["indicators"]
    # A cloudless 33 °C afternoon in low-rise Delft: most open space is in full sun, and a
    # person standing there has a mean radiant temperature some 25-30 K above the air.
    assert indicators["shaded_share"] < 0.2
    assert 50 < indicators["mean_tmrt_c"] < 70
    assert 36 < indicators["mean_utci_c"] < 42
    assert 0.7 < indicators["mean_sky_view_factor"] < 1

    def cells(record: RunRecord) -> dict[tuple[float, float], dict[str, Any]]:
        features = record.outputs["layers"]["heat_map"]["features"]
        return {tuple(f["geometry"]["coordinates"][0][0]): f["properties"] for f in features}

    before, after = cells(current), cells(tower)
    assert len(before) == indicators["cells"]
    newly_shaded = [
        k for k in set(before) & set(after) if after[k]["shade"] and not before[k]["shade"]
    ]
    assert len(newly_shaded) > 50  # the tower's afternoon shadow, in 2 m cells
    # In its shadow the direct sun is gone: UTCI falls by several kelvin.
    drops = sorted(before[k]["utci_c"] - after[k]["utci_c"] for k in newly_shaded)
    assert drops[len(drops) // 2] > 3
    assert tower.outputs["indicators"]["shaded_share"] > indicators["shaded_share"]


def test_solar_uses_lod2_roof_semantics(runtime: Runtime, samples: Path) -> None:
    ingest(runtime.db, samples / "rotterdam_lod2.city.json", "rotterdam", crs="EPSG:7415")
    record = service.run(
        runtime,
        OPERATOR,
        "rotterdam",
        package=packages.from_path(REFERENCE_APPS / "solar-potential"),
        overrides={"include_facades": True},
        purpose="tests",
    )
    assert record.status == "successful", record.message
    attributes = record.outputs["attributes"]
    roofs = attributes["roof_irradiation_kwh_m2"]
    assert len(roofs) == 16
    horizontal = record.outputs["indicators"]["horizontal_irradiation_kwh_m2"]
    # Sloped LoD2 roofs: planes facing north pull a building's mean below the horizontal
    # year, and none gets more than a south plane at the best tilt (about 1.15 × horizontal).
    assert min(roofs.values()) < 0.9 * horizontal
    assert max(roofs.values()) < 1.15 * horizontal
    facades = attributes["facade_irradiation_kwh_m2"]
    assert set(facades) == set(roofs)
    # Walls see half the sky and the sun only from one side: well below any roof.
    assert max(facades.values()) < min(roofs.values())
    assert min(facades.values()) > 250
