"""Sun hours and shade on scenes whose answers are known: an open roof gets the whole day
between pvlib's sunrise and sunset, a north facade gets no December sun, and a slab's winter
noon shadow is as long as the sun's altitude says."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pvlib
import pytest
import shapely
from sun_hours.app import run
from sun_hours.sun import sun_at

from tweeling.sdk import AppError, Outputs, run_local, write_test_inputs
from tweeling.sdk.grid import extrude

# A place in Delft in the Dutch national grid (EPSG:28992), and the same in degrees.
X0, Y0 = 84_000.0, 447_000.0
STEP_MINUTES = 5.0
DEFAULTS: dict[str, Any] = {
    "days": ["2026-03-21", "2026-06-21", "2026-12-21"],
    "shade_times": [],
    "timezone": "Europe/Amsterdam",
    "step_minutes": STEP_MINUTES,
    "min_altitude_deg": 0,
    "min_sun_hours": 2,
    "include_facades": True,
    "surface_spacing_m": 2.0,
    "cell_size_m": 2.0,
    "grid_margin_m": 10,
}


def _run(tmp_path: Path, blocks: list[tuple[Any, float]], **overrides: Any) -> Outputs:
    rows = [
        {"id": f"b{i}", "footprint": shape, "mesh": extrude(shape, height)}
        for i, (shape, height) in enumerate(blocks)
    ]
    inputs = write_test_inputs(tmp_path / "inputs", {"buildings": rows})
    return run_local(run, inputs, {**DEFAULTS, **overrides}, tmp_path / "work")


def _lonlat() -> tuple[float, float]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(X0, Y0)
    return float(lon), float(lat)


def _day_length_hours(day: str) -> float:
    """pvlib's own sunrise to sunset (SPA, upper limb with refraction) at the scene."""
    lon, lat = _lonlat()
    noon = pd.DatetimeIndex([pd.Timestamp(f"{day} 12:00", tz="UTC")])
    times = pvlib.solarposition.sun_rise_set_transit_spa(noon, lat, lon)
    return float((times["sunset"].iloc[0] - times["sunrise"].iloc[0]).total_seconds() / 3600)


def test_an_open_roof_gets_the_whole_day_and_facades_their_side(tmp_path: Path) -> None:
    block = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    out = _run(tmp_path, [(block, 6.0)])
    # The step's centre is counted, and pvlib's sunrise is the upper limb at the horizon
    # while ours is the centre: one step plus about five minutes at each end.
    tolerance = 2 * STEP_MINUTES / 60 + 0.2
    for number, day in enumerate(DEFAULTS["days"], start=1):
        roof = out.attributes[f"roof_sun_hours_day{number}"]["b0"]
        assert roof == pytest.approx(_day_length_hours(day), abs=tolerance)
    # In December the sun rises south of east and sets south of west: a north wall of the
    # block sees none of it, so the facade mean is the south, east and west walls' share.
    december = out.attributes["facade_sun_hours_day3"]["b0"]
    assert 0 < december < _day_length_hours("2026-12-21")
    # On 21 June every wall gets sun at some time; the mean is below the roof's.
    june = out.attributes["facade_sun_hours_day2"]["b0"]
    assert 0 < june < out.attributes["roof_sun_hours_day2"]["b0"]
    assert out.indicators["ground_share_below_min_day2"] < 0.2


def test_a_north_facade_gets_no_december_sun(tmp_path: Path) -> None:
    # A thin wall facing north and south: its facade mean in December is the south side's
    # full day over two equal sides, so half the day within the tolerance.
    slab = shapely.box(X0, Y0, X0 + 40, Y0 + 0.5)
    out = _run(tmp_path, [(slab, 8.0)], surface_spacing_m=0.5)
    december = out.attributes["facade_sun_hours_day3"]["b0"]
    wall_share_south = 40 / (2 * 40 + 2 * 0.5)
    expected = _day_length_hours("2026-12-21") * wall_share_south
    assert december == pytest.approx(expected, abs=0.3)


def test_slab_shadow_at_winter_noon_is_as_long_as_the_sun_says(tmp_path: Path) -> None:
    height = 20.0
    slab = shapely.box(X0 - 50, Y0, X0 + 50, Y0 + 10)
    lon, lat = _lonlat()
    transit = pvlib.solarposition.sun_rise_set_transit_spa(
        pd.DatetimeIndex([pd.Timestamp("2026-12-21 12:00", tz="UTC")]), lat, lon
    )["transit"].iloc[0]
    noon = transit.tz_convert("Europe/Amsterdam").strftime("%Y-%m-%dT%H:%M")
    altitude, azimuth = sun_at(pd.Timestamp(noon).to_pydatetime(), lat, lon, "Europe/Amsterdam")
    assert azimuth == pytest.approx(180, abs=0.5)  # the local clock became solar noon
    out = _run(
        tmp_path,
        [(slab, height)],
        days=["2026-12-21"],
        shade_times=[noon],
        cell_size_m=1.0,
        grid_margin_m=100,
    )
    label = f"shade_{noon}"
    cells = out.layers["ground_sun_and_shade"]["features"]
    column = [
        (shapely.geometry.shape(c["geometry"]).centroid, c["properties"][label])
        for c in cells
        if abs(shapely.geometry.shape(c["geometry"]).centroid.x - X0) < 1
    ]
    north = [(p.y - (Y0 + 10), shaded) for p, shaded in column if p.y > Y0 + 10]
    south = [shaded for p, shaded in column if p.y < Y0]
    assert not any(south)  # the sun is in the south: nothing south of the slab is shaded
    reach = max(d for d, shaded in north if shaded)
    expected = (height - 0.1) / math.tan(math.radians(altitude))  # ground points at +0.1 m
    assert reach == pytest.approx(expected, abs=1.0)  # within one 1 m cell
    assert all(shaded for d, shaded in north if d < expected - 1)
    assert not any(shaded for d, shaded in north if d > expected + 1)
    assert out.indicators["ground_share_below_min_day1"] > 0
    assert out.attributes["roof_sun_hours_day2"] == {}  # one day asked for, not three


def test_bad_parameters_and_inputs_get_clear_messages(tmp_path: Path) -> None:
    block = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    with pytest.raises(AppError, match="'21-03-2026' is not a date"):
        _run(tmp_path, [(block, 6.0)], days=["21-03-2026"])
    with pytest.raises(AppError, match="is not a local date and time"):
        _run(tmp_path, [(block, 6.0)], shade_times=["noon"])
    inputs = write_test_inputs(tmp_path / "flat", {"buildings": [{"id": "a", "footprint": block}]})
    with pytest.raises(AppError, match="without geometry"):
        run_local(run, inputs, DEFAULTS, tmp_path / "work2")


def test_shade_maps_follow_the_clock_and_the_night(tmp_path: Path) -> None:
    block = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    out = _run(tmp_path, [(block, 6.0)], days=["2026-06-21"], shade_times=["2026-06-21T23:30"])
    shade = [
        c["properties"]["shade_2026-06-21T23:30"]
        for c in out.layers["ground_sun_and_shade"]["features"]
    ]
    assert all(shade)  # night
    lon, lat = _lonlat()
    _, azimuth = sun_at(
        pd.Timestamp("2026-06-21T13:43").to_pydatetime(), lat, lon, "Europe/Amsterdam"
    )
    assert azimuth == pytest.approx(180, abs=2)  # summer time: solar noon near 13:43 CEST
    assert np.isfinite(out.indicators["ground_mean_sun_hours_day1"])
