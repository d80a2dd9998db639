"""The app on synthetic twins in Delft at the default design hour (25 July 2019, 13:00 UTC,
sun about 55° high in the south-west): sun against shade, an analytic street canyon, and
surfaces."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from heat_stress_scenes import box, building, cell_at, paved_ground, run_scene

from tweeling.sdk import Outputs


@pytest.fixture(scope="module")
def slab(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    # a 30 m slab, 100 m long east-west, in a paved square; 4 m cells up to 150 m around it
    layers: dict[str, list[dict[str, Any]]] = {
        "buildings": [building("slab", box(-50, 0, 50, 10), 30.0)],
        "landuse": [paved_ground(200)],
    }
    outputs, _ = run_scene(tmp_path_factory.mktemp("slab"), layers, cell_size_m=4.0, margin_m=150)
    return outputs


def test_open_plaza_against_shade_north_of_a_slab(slab: Outputs) -> None:
    open_cell = cell_at(slab, 0, -140)  # 140 m south of the slab
    shaded = cell_at(slab, 0, 15)  # 5 m north of its north face
    assert open_cell["svf"] == pytest.approx(1.0, abs=0.02)  # seen: 0.992
    assert open_cell["shade"] is False
    assert shaded["shade"] is True
    # seen: Tmrt 61.0 °C in the open against 37.2 °C in the shade; UTCI 39.4 against 33.6
    assert open_cell["tmrt_c"] - shaded["tmrt_c"] > 15.0
    assert open_cell["utci_c"] - shaded["utci_c"] > 3.0
    assert open_cell["heat_stress"] == "very strong heat stress"
    assert shaded["heat_stress"] == "strong heat stress"
    assert open_cell["hotspot"] is True
    assert shaded["hotspot"] is False
    assert slab.indicators["sun_elevation_deg"] == pytest.approx(55, abs=3)
    assert 0 < slab.indicators["shaded_share"] < 0.05


def test_street_canyon_sky_view_factor(tmp_path: Path) -> None:
    # H/W = 1 seen from 1.1 m: walls 21.1 m high, 20 m apart, 400 m long
    width, height = 20.0, 20.0 + 1.1
    layers = {
        "buildings": [
            building("south", box(-200, -width / 2 - 6, 200, -width / 2), height),
            building("north", box(-200, width / 2, 200, width / 2 + 6), height),
        ]
    }
    outputs, _ = run_scene(tmp_path, layers)
    expected = math.cos(math.atan(2 * 1.0))  # 0.447
    assert cell_at(outputs, 0, 0)["svf"] == pytest.approx(expected, abs=0.03)  # seen: 0.441


def test_surfaces_from_water_and_vegetation(tmp_path: Path) -> None:
    layers = {
        "buildings": [building("kiosk", box(-2.5, 60, 2.5, 65), 3.0)],
        "landuse": [paved_ground(150)],
        # 20 m squares on cell edges (cell centres lie at even offsets): 100 cells each
        "water": [{"id": "canal", "type": "WaterBody", "footprint": box(-59, -9, -39, 11)}],
        "vegetation": [
            {
                "id": "lawn",
                "type": "PlantCover",
                "class": "groenvoorziening",
                "footprint": box(41, -9, 61, 11),
            }
        ],
    }
    # a low hotspot threshold (30 °C), so that the water would count if it could
    outputs, _ = run_scene(tmp_path, layers, margin_m=80, utci_hotspot_c=30.0)
    water, green, paved = cell_at(outputs, -50, 0), cell_at(outputs, 50, 0), cell_at(outputs, 0, 0)
    assert (water["surface"], green["surface"], paved["surface"]) == ("water", "green", "paved")
    assert not (water["shade"] or green["shade"] or paved["shade"])
    # The same sun on all three; the ground differs. Water stays at 23 °C and reflects little;
    # grass in the sun is 5 K above the air, paving 15 K: less longwave from below, which
    # outweighs the grass's higher albedo (0.20 against 0.15).
    # seen: Tmrt water 47.8, green 58.5, paved 60.9 °C
    assert water["tmrt_c"] < green["tmrt_c"] - 5
    assert green["tmrt_c"] < paved["tmrt_c"] - 1
    assert water["utci_c"] < green["utci_c"] < paved["utci_c"]
    assert (water["hotspot"], green["hotspot"], paved["hotspot"]) == (False, True, True)
    assert outputs.indicators["assumed_paved_share"] == 0.0
    cells = outputs.indicators["cells"]
    assert outputs.indicators["water_share"] == pytest.approx(100 / cells, abs=0.0005)
    assert outputs.indicators["green_share"] == pytest.approx(100 / cells, abs=0.0005)


def test_without_surface_layers_cells_are_assumed_paved(tmp_path: Path) -> None:
    layers = {
        "buildings": [
            building("a", box(-40, -40, -30, -30), 6.0),
            building("b", box(30, 30, 40, 40), 6.0),
        ]
    }
    outputs, log = run_scene(tmp_path, layers, cell_size_m=4.0)
    assert outputs.indicators["assumed_paved_share"] == 1.0
    assert outputs.indicators["green_share"] == 0.0
    assert any("no vegetation" in line for line in log)
    assert any("assumed paved" in line for line in log)
    surfaces = {f["properties"]["surface"] for f in outputs.layers["heat_map"]["features"]}
    assert surfaces == {"paved"}
