"""The whole app on small scenes: a gable house's two roof planes against pvlib's own
transposition of the shipped climate year, a neighbour's shadow, the calibrated parameters and
clear messages for unusable inputs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pvlib
import pytest
import shapely
from solar_potential.app import run
from solar_potential.climate import typical_year

from tweeling.sdk import AppError, Outputs, run_local, write_test_inputs
from tweeling.sdk.grid import extrude

X0, Y0 = 84_000.0, 447_000.0  # Delft, in the Dutch national grid (EPSG:28992)
PARAMETERS: dict[str, Any] = {
    "pv_efficiency": 0.2,
    "performance_ratio": 0.8,
    "min_useful_area_m2": 10,
    "min_irradiation_kwh_m2": 800,
    "include_facades": False,
    "sample_spacing_m": 1.0,
    "sky_bands": 7,
    "albedo": 0.2,
}


def _gable_house(x: float, y: float, width: float, depth: float, eaves: float, slope: float):  # type: ignore[no-untyped-def]
    """A house with its ridge east–west: one roof plane faces south, the other north."""
    rise = depth / 2 * math.tan(math.radians(slope))
    sw, se = (x, y, eaves), (x + width, y, eaves)
    nw, ne = (x, y + depth, eaves), (x + width, y + depth, eaves)
    rw, re = (x, y + depth / 2, eaves + rise), (x + width, y + depth / 2, eaves + rise)
    g = [(x, y, 0.0), (x + width, y, 0.0), (x + width, y + depth, 0.0), (x, y + depth, 0.0)]
    triangles = [
        (sw, se, re), (sw, re, rw),  # south roof plane, wound to face up and south
        (ne, nw, rw), (ne, rw, re),  # north roof plane
        (g[0], g[1], se), (g[0], se, sw),  # south wall
        (g[2], g[3], nw), (g[2], nw, ne),  # north wall
        (g[1], g[2], ne), (g[1], ne, se), (se, ne, re),  # east wall and gable
        (g[3], g[0], sw), (g[3], sw, nw), (nw, sw, rw),  # west wall and gable
        (g[0], g[3], g[2]), (g[0], g[2], g[1]),  # ground
    ]  # fmt: skip
    kinds = ["RoofSurface"] * 4 + ["WallSurface"] * 10 + ["GroundSurface"] * 2
    return np.asarray(triangles, dtype=np.float64), kinds


def _run(tmp_path: Path, rows: list[dict[str, Any]], **overrides: Any) -> Outputs:
    inputs = write_test_inputs(tmp_path / "inputs", {"buildings": rows})
    return run_local(run, inputs, {**PARAMETERS, **overrides}, tmp_path / "work")


def _pvlib_annual(tilt: float, azimuth: float) -> float:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(X0, Y0)
    w = typical_year(lat, lon)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, w.zenith, w.azimuth, w.dni, w.ghi, w.dhi,
        dni_extra=w.dni_extra, model="haydavies", albedo=0.2,
    )["poa_global"]  # fmt: skip
    return float(np.nansum(np.asarray(poa)) / 1000)


def test_gable_roof_equals_pvlib_for_its_two_planes(tmp_path: Path) -> None:
    mesh = _gable_house(X0, Y0, 10, 8, 6, 35)
    footprint = shapely.box(X0, Y0, X0 + 10, Y0 + 8)
    out = _run(tmp_path, [{"id": "house", "footprint": footprint, "mesh": mesh}])
    south, north = _pvlib_annual(35, 180), _pvlib_annual(35, 0)
    assert south > 1100 > 700 > north  # a Dutch south roof at 35° gains, a north one loses
    # Equal planes: the roof's mean is the mean of pvlib's two planes, within 1 %.
    roof = out.attributes["roof_irradiation_kwh_m2"]["house"]
    assert roof == pytest.approx((south + north) / 2, rel=0.01)
    area = 2 * 10 * 4 / math.cos(math.radians(35))
    assert out.attributes["roof_area_m2"]["house"] == pytest.approx(area, abs=0.1)
    # Only the south plane reaches 800 kWh/m²: half the roof is usable, and the yield is that
    # half's irradiation × efficiency × performance ratio.
    assert out.attributes["usable_area_m2"]["house"] == pytest.approx(area / 2, abs=0.1)
    assert out.attributes["yield_kwh"]["house"] == pytest.approx(
        area / 2 * south * 0.2 * 0.8, rel=0.01
    )


def test_a_tall_neighbour_to_the_south_takes_sun_and_calibration_applies(tmp_path: Path) -> None:
    low = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    tower = shapely.box(X0 - 25, Y0 - 25, X0 + 35, Y0 - 15)  # a slab 60 m wide
    alone = _run(tmp_path / "a", [{"id": "low", "footprint": low, "mesh": extrude(low, 6)}])
    shaded = _run(
        tmp_path / "b",
        [
            {"id": "low", "footprint": low, "mesh": extrude(low, 6)},
            {"id": "tower", "footprint": tower, "mesh": extrude(tower, 60)},
        ],
        include_facades=True,
    )
    open_roof = alone.attributes["roof_irradiation_kwh_m2"]["low"]
    assert open_roof == pytest.approx(alone.indicators["horizontal_irradiation_kwh_m2"], 0.01)
    assert shaded.attributes["roof_irradiation_kwh_m2"]["low"] < 0.8 * open_roof
    assert shaded.attributes["roof_irradiation_kwh_m2"]["tower"] == pytest.approx(open_roof, 0.01)
    assert set(shaded.attributes["facade_irradiation_kwh_m2"]) == {"low", "tower"}
    assert alone.attributes["facade_irradiation_kwh_m2"] == {}
    # A tenth instead of a fifth efficiency: half the yield from the same roof.
    low_rows = [{"id": "low", "footprint": low, "mesh": extrude(low, 6)}]
    tenth = _run(tmp_path / "c", low_rows, pv_efficiency=0.1)
    assert tenth.attributes["usable_area_m2"] == alone.attributes["usable_area_m2"]
    assert tenth.attributes["yield_kwh"]["low"] == pytest.approx(
        alone.attributes["yield_kwh"]["low"] / 2, abs=1
    )


def test_small_roofs_and_missing_geometry(tmp_path: Path) -> None:
    shed = shapely.box(X0, Y0, X0 + 3, Y0 + 3)
    out = _run(tmp_path / "a", [{"id": "shed", "footprint": shed, "mesh": extrude(shed, 2)}])
    assert out.attributes["roof_area_m2"]["shed"] == pytest.approx(9, abs=0.01)
    assert out.attributes["usable_area_m2"]["shed"] == 0  # under min_useful_area_m2 (10)
    assert out.attributes["yield_kwh"]["shed"] == 0
    inputs = write_test_inputs(tmp_path / "b", {"buildings": [{"id": "a", "footprint": shed}]})
    with pytest.raises(AppError, match="without geometry"):
        run_local(run, inputs, PARAMETERS, tmp_path / "w")
