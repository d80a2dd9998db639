"""Heat stress on a hot, cloudless summer day, per ground cell of the open space.

The steps, each in its own module: a grid of the ground outside the buildings (``tweeling.sdk
.grid``); each cell's surface from the twin's water, vegetation, land-use and road layers
(``surfaces``); what a person 1.1 m above the cell sees of the sky and of the sun through the
buildings (``sight``); the sun and the clear-sky irradiance of the day (``sun``); the mean
radiant temperature after SOLWEIG (``radiant``); UTCI, its stress category and hotspots
(``comfort``); the map's columns and indicators (``summary``). The air is the same over the
whole twin (one design hour's temperature, humidity and wind); what varies from cell to cell
is radiation — which is what a city can change with shade, greenery and water.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from heat_stress.comfort import hotspots, utci
from heat_stress.radiant import Weather, mean_radiant_temperature
from heat_stress.sight import PERSON_HEIGHT_M, Sight, building_bases, ground_heights, look
from heat_stress.summary import CellResults, indicators
from heat_stress.sun import DaySun, clear_sky_day, parse_day
from heat_stress.surfaces import BARE, GREEN, PAVED, WATER, classify, ground_temperature
from heat_stress.surfaces import properties as surface_properties
from tweeling.sdk import AppError, Context, Inputs, Mesh, Outputs
from tweeling.sdk.grid import Grid, ground_grid
from tweeling.sdk.visibility import Occluder, sky_patches


def _building_mesh(inputs: Inputs) -> Mesh:
    message = (
        "the buildings layer has no 3D geometry: heat-stress needs the buildings' solids to "
        "cast shade and hide the sky (its manifest reads them with geometry = true)"
    )
    try:
        mesh = inputs.layer("buildings").mesh()
    except AppError:
        raise AppError(message) from None
    if not len(mesh):
        raise AppError(message)
    return mesh


def _extent(footprints: list[Any], margin: float) -> Any:
    """The area mapped: the bounding box of the buildings, the part of the twin that is in 3D
    and so can shade, grown by ``margin`` metres."""
    shapes = [s for s in footprints if s is not None and not s.is_empty]
    if not shapes:
        raise AppError("the buildings have no footprints: there is no area to map")
    minx, miny, maxx, maxy = shapely.total_bounds(shapes)
    return shapely.box(minx - margin, miny - margin, maxx + margin, maxy + margin)


def _grid(footprints: list[Any], area: Any, spacing: float) -> Grid:
    try:
        grid = ground_grid(footprints, spacing, area=area)
    except ValueError as exc:
        raise AppError(str(exc)) from None
    if not len(grid):
        raise AppError(
            f"no open ground to map: every {spacing:g} m cell of the twin's extent lies inside "
            "a building footprint"
        )
    return grid


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    p = parameters
    date = parse_day(str(p["date"]))
    buildings = inputs.layer("buildings")
    mesh = _building_mesh(inputs)
    footprints = buildings.footprints()
    spacing = float(p["cell_size_m"])
    grid = _grid(footprints, _extent(footprints, float(p["margin_m"])), spacing)
    context.progress(0.05, f"{len(grid):,} cells of {spacing:g} m")

    surfaces = classify(grid, inputs)
    for note in surfaces.notes:
        context.log(note)
    ground = ground_heights(grid.centres, footprints, building_bases(mesh, len(footprints)))
    centre = grid.centres.mean(axis=0)
    lon, lat = inputs.lonlat(float(centre[0]), float(centre[1]))
    day = clear_sky_day(date, lat, lon)
    hour = int(p["design_hour_utc"])
    context.log(
        f"sun at {hour:02d}:00 UTC: {day.elevation[hour]:.1f}° high, azimuth "
        f"{day.azimuth[hour]:.0f}°, direct {day.dni[hour]:.0f} W/m², diffuse "
        f"{day.dhi[hour]:.0f} W/m² (Linke turbidity {day.linke_turbidity:.1f})"
    )
    if not day.up[hour]:
        context.log("the sun is below the horizon at the design hour: no direct sunlight")

    scene = Occluder(mesh.corners)
    if scene.engine != "embree":
        context.log("Embree is not installed: rays go to the slow numpy engine")
    daylight = np.nonzero(day.up)[0]
    sky = sky_patches(int(p["sky_bands"]))
    sight = look(scene, grid.points(ground + PERSON_HEIGHT_M), sky, day.directions[daylight])
    context.progress(0.8, f"sky and sun seen from {len(grid):,} cells")
    at_hour = np.nonzero(daylight == hour)[0]
    sunlit = sight.sunlit[:, at_hour[0]] if len(at_hour) else np.zeros(len(grid), dtype=bool)
    shade_share = 1.0 - sight.sunlit.mean(axis=1) if len(daylight) else np.ones(len(grid))

    tmrt = _tmrt(p, day, hour, surfaces.kinds, sight, sunlit)
    air, humidity = float(p["air_temperature_c"]), float(p["relative_humidity_pct"])
    wind = float(p["wind_speed_10m_m_s"])
    index, category = utci(air, tmrt, wind, humidity)
    # Hotspots are where people are: water cells are mapped but never hot spots.
    land = np.array([k != WATER for k in surfaces.kinds], dtype=bool)
    hot_cells = (index >= float(p["utci_hotspot_c"])) & land
    hot = hotspots(grid.centres, spacing, hot_cells, float(p["hotspot_min_area_m2"]))
    context.progress(0.9, "thermal comfort")

    cells = CellResults(
        surface=surfaces.kinds,
        unmapped=surfaces.unmapped,
        svf=sight.svf,
        sunlit=sunlit,
        shade_share=shade_share,
        tmrt_c=tmrt,
        utci_c=index,
        heat_stress=category,
        hotspot=hot,
    )
    out = Outputs()
    out.layer("heat_map", grid.features(cells.columns()))
    indicators(out, cells, spacing**2)
    out.indicator("sun_elevation_deg", round(float(day.elevation[hour]), 1))
    out.indicator("direct_normal_irradiance_w_m2", round(float(day.dni[hour]), 1))
    context.log(
        f"{len(grid):,} cells: UTCI {index.min():.1f}–{index.max():.1f} °C, "
        f"{int(hot.sum()):,} hotspot cells, {float((~sunlit).mean()):.0%} in shade"
    )
    return out


def _tmrt(
    p: dict[str, Any],
    day: DaySun,
    hour: int,
    kinds: list[str],
    sight: Sight,
    sunlit: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float64]:
    """Mean radiant temperature per cell at the design hour (``radiant``)."""
    air = float(p["air_temperature_c"])
    excess = {
        PAVED: float(p["sunlit_paved_excess_c"]),
        GREEN: float(p["sunlit_green_excess_c"]),
        BARE: float(p["sunlit_bare_excess_c"]),
    }
    ground_c = ground_temperature(kinds, sunlit, air, excess, float(p["water_temperature_c"]))
    albedo, emissivity = surface_properties(kinds)
    weather = Weather(
        air_c=air,
        relative_humidity=float(p["relative_humidity_pct"]),
        sun_elevation_deg=float(day.elevation[hour]),
        dni=float(day.dni[hour]),
        dhi=float(day.dhi[hour]),
        ghi=float(day.ghi[hour]),
    )
    return mean_radiant_temperature(
        weather,
        sunlit,
        sight.svf,
        sight.side_svf,
        albedo,
        emissivity,
        ground_c,
        float(p["wall_excess_c"]),
    )
