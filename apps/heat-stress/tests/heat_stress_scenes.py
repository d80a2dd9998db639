"""Small synthetic twins for the app's tests, placed in Delft (RD New) so that the sun stands
as it does there, and a way to run the app on them with the manifest's defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import shapely
from heat_stress.app import run

from tweeling.sdk import Context, Inputs, Outputs, write_test_inputs
from tweeling.sdk.grid import extrude

X0, Y0 = 85_001.0, 447_001.0  # a 2 m cell centre near Delft's centre
MANIFEST = Path(__file__).resolve().parents[1] / "tweeling-app.toml"


def defaults(**overrides: Any) -> dict[str, Any]:
    """The manifest's default parameters, as the platform would resolve them."""
    schema = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["parameters"]["schema"]
    values = {name: spec["default"] for name, spec in schema["properties"].items()}
    values.update(overrides)
    return values


def box(x0: float, y0: float, x1: float, y1: float) -> Any:
    """A rectangle given relative to (X0, Y0)."""
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def building(oid: str, footprint: Any, height: float) -> dict[str, Any]:
    return {"id": oid, "footprint": footprint, "mesh": extrude(footprint, height)}


def paved_ground(half: float) -> dict[str, Any]:
    """A land-use polygon of open paving around the origin."""
    return {
        "id": "square",
        "type": "LandUse",
        "footprint": box(-half, -half, half, half),
        "bgt_fysiekvoorkomen": "open verharding",
    }


def run_scene(
    folder: Path, layers: dict[str, list[dict[str, Any]]], **parameters: Any
) -> tuple[Outputs, list[str]]:
    """Run the app on these layers; its outputs and its log lines."""
    inputs = write_test_inputs(folder / "inputs", layers)
    log: list[str] = []
    work = folder / "work"
    work.mkdir(parents=True, exist_ok=True)
    context = Context(work, on_log=log.append)
    return run(Inputs(inputs), defaults(**parameters), context), log


def cell_at(outputs: Outputs, x: float, y: float) -> dict[str, Any]:
    """The properties of the heat-map cell containing (X0 + x, Y0 + y)."""
    for feature in outputs.layers["heat_map"]["features"]:
        ring = feature["geometry"]["coordinates"][0]
        (left, bottom), (right, top) = ring[0], ring[2]
        if left <= X0 + x < right and bottom <= Y0 + y < top:
            return dict(feature["properties"])
    raise AssertionError(f"no cell at ({x}, {y})")
