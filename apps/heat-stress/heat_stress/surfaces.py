"""What each ground cell is made of: paved, green, water or bare soil.

The surface decides how hot the ground under a person gets and how much sunlight it reflects,
the two ways the ground enters the mean radiant temperature. The classes come from the
twin's 2D layers, in this order of precedence (the first polygon containing a cell's centre
wins): water bodies; vegetation (PlantCover; BGT 'duin' counts as bare); land use by its BGT
physical appearance (``bgt_fysiekvoorkomen``); roads by their surface material. A cell no
polygon covers is assumed paved — in a Dutch town centre the unmapped remainder is mostly
pavement — and counted, so the run can say how much of the map rests on that assumption.

Radiative properties are typical values within the ranges of Oke (1987, Boundary Layer
Climates, Table 1.1): albedo and emissivity per class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweeling.sdk import Inputs
from tweeling.sdk.grid import Grid

PAVED, GREEN, WATER, BARE = "paved", "green", "water", "bare"
UNMAPPED = "unmapped"

# BGT/IMGeo physical appearance of land (OnbegroeidTerreindeel, BegroeidTerreindeel).
GREEN_LAND = {
    "groenvoorziening",
    "grasland agrarisch",
    "grasland overig",
    "bouwland",
    "struiken",
    "houtwal",
    "loofbos",
    "naaldbos",
    "gemengd bos",
    "heide",
    "moeras",
    "rietland",
    "fruitteelt",
    "boomteelt",
    "kwelder",
}
BARE_LAND = {"onverhard", "half verhard", "zand", "duin", "braakliggend"}
# 'erf' (a premises' yard) is recorded without its surface; taken as paved.
PAVED_LAND = {"erf", "open verharding", "gesloten verharding"}


@dataclass(frozen=True)
class Surface:
    """Radiative properties of one surface class."""

    albedo: float
    emissivity: float


SURFACES: dict[str, Surface] = {
    PAVED: Surface(albedo=0.15, emissivity=0.95),  # brick pavers, concrete tiles, asphalt
    GREEN: Surface(albedo=0.20, emissivity=0.95),  # grass and shrubs
    WATER: Surface(albedo=0.06, emissivity=0.96),  # open water, sun high
    BARE: Surface(albedo=0.25, emissivity=0.93),  # dry soil, gravel, sand
}


@dataclass(frozen=True)
class Classified:
    """The class of each cell and which cells no layer described."""

    kinds: list[str]
    unmapped: npt.NDArray[np.bool_]
    notes: list[str]


def _values(
    inputs: Inputs, layer: str, attribute: str | None = None
) -> tuple[list[Any], list[str | None]]:
    """A layer's footprints and one attribute, lower case (None where the layer or the
    attribute is absent: a twin without the layer simply adds nothing)."""
    if not inputs.has(layer):
        return [], []
    source = inputs.layer(layer)
    shapes = source.footprints()
    if attribute is not None and attribute in source.table().column_names:
        values = [None if v is None else str(v).strip().lower() for v in source.column(attribute)]
    else:
        values = [None] * len(shapes)
    return shapes, values


def _pick(shapes: list[Any], values: list[str | None], wanted: Iterable[str]) -> list[Any]:
    keep = set(wanted)
    return [s for s, v in zip(shapes, values, strict=True) if v in keep]


def classify(grid: Grid, inputs: Inputs) -> Classified:
    """Each cell's surface class from the twin's water, vegetation, land-use and road layers."""
    notes: list[str] = []
    water, _ = _values(inputs, "water")
    plants, plant_class = _values(inputs, "vegetation", "class")
    land, land_kind = _values(inputs, "landuse", "bgt_fysiekvoorkomen")
    roads, road_material = _values(inputs, "roads", "surfacematerial")
    if not water:
        notes.append("no water bodies in the twin: no cell is water")
    if not plants:
        notes.append("no vegetation in the twin: cells default to paved unless land use says")
    bare_plants = [s for s, v in zip(plants, plant_class, strict=True) if v == "duin"]
    green_plants = [s for s, v in zip(plants, plant_class, strict=True) if v != "duin"]
    green = green_plants + _pick(land, land_kind, GREEN_LAND)
    bare = bare_plants + _pick(land, land_kind, BARE_LAND) + _pick(roads, road_material, BARE_LAND)
    paved_roads = [s for s, v in zip(roads, road_material, strict=True) if v not in BARE_LAND]
    paved = _pick(land, land_kind, PAVED_LAND) + paved_roads
    classes = {WATER: water, GREEN: green, BARE: bare, PAVED: paved}
    kinds = grid.classify(classes, default=UNMAPPED)
    unmapped = np.array([k == UNMAPPED for k in kinds], dtype=bool)
    if unmapped.any():
        notes.append(
            f"{int(unmapped.sum()):,} of {len(kinds):,} cells lie on no water, vegetation, "
            "land-use or road polygon: assumed paved"
        )
    return Classified([PAVED if k == UNMAPPED else k for k in kinds], unmapped, notes)


def properties(kinds: list[str]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Albedo and emissivity per cell."""
    albedo = np.array([SURFACES[k].albedo for k in kinds], dtype=np.float64)
    emissivity = np.array([SURFACES[k].emissivity for k in kinds], dtype=np.float64)
    return albedo, emissivity


def ground_temperature(
    kinds: list[str],
    sunlit: npt.NDArray[np.bool_],
    air_c: float,
    sunlit_excess_c: dict[str, float],
    water_c: float,
) -> npt.NDArray[np.float64]:
    """Surface temperature of each cell's ground (°C).

    As in SOLWEIG (Lindberg et al. 2008), shaded ground is at air temperature and
    sunlit ground warmer by an amount that depends on the surface; open water keeps its own
    temperature in sun and shade alike (its heat capacity and mixing damp the daily cycle).
    """
    excess = np.array([sunlit_excess_c.get(k, 0.0) for k in kinds], dtype=np.float64)
    temperature = air_c + np.where(sunlit, excess, 0.0)
    is_water = np.array([k == WATER for k in kinds], dtype=bool)
    return np.asarray(np.where(is_water, water_c, temperature), dtype=np.float64)
