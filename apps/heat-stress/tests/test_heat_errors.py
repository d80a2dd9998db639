"""Data the app cannot work with fails the run with a message that says what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from heat_stress_scenes import box, building, paved_ground, run_scene

from tweeling.sdk import AppError


def test_buildings_without_geometry(tmp_path: Path) -> None:
    layers = {
        "buildings": [{"id": "flat", "footprint": box(0, 0, 10, 10)}],
        "landuse": [paved_ground(50)],
    }
    with pytest.raises(AppError, match="buildings layer has no 3D geometry"):
        run_scene(tmp_path, layers)


def test_no_open_ground(tmp_path: Path) -> None:
    layers = {"buildings": [building("block", box(0, 0, 40, 40), 10.0)]}
    with pytest.raises(AppError, match="no open ground to map"):
        run_scene(tmp_path, layers)


def test_a_date_that_is_no_date(tmp_path: Path) -> None:
    layers = {"buildings": [building("a", box(0, 0, 10, 10), 10.0)], "landuse": [paved_ground(30)]}
    with pytest.raises(AppError, match="not a date"):
        run_scene(tmp_path, layers, date="2019-13-45", margin_m=10)
