"""Sun hours on roofs, facades and public space on chosen days, and shade maps at chosen
moments.

Points about ``surface_spacing_m`` apart on every roof and facade, and the centres of a
``cell_size_m`` grid over the open ground between the buildings, look towards the sun every
``step_minutes`` of each chosen day (``sun.py``); a step is sunny when no building of the
twin stands in the way (``tweeling.sdk.visibility``, Intel Embree) and the surface faces the
sun. A building's roof and facade figures are area-weighted means over its points; the ground
grid becomes a map layer with each cell's sun hours per day and whether it lies in shade at
each chosen moment.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from sun_hours.sun import parse_day, parse_moment, sun_at, sun_path
from tweeling.sdk import AppError, Context, Inputs, Outputs
from tweeling.sdk.grid import ground_grid
from tweeling.sdk.visibility import Occluder, direction, sample_triangles

Floats = npt.NDArray[np.float64]
ROOF_MIN_NORMAL_Z = 0.1  # faces steeper than about 84° are walls
GROUND_LIFT_M = 0.1  # ground points sit this far above the ground level
MAX_DAYS = 3
_CHUNK = 20_000


def _sun_hours(
    scene: Occluder, points: Floats, normals: Floats, suns: Floats, step_hours: float
) -> Floats:
    hours = np.zeros(len(points))
    if not len(suns):
        return hours
    for start in range(0, len(points), _CHUNK):
        stop = start + _CHUNK
        seen = scene.visible(points[start:stop], normals[start:stop], suns)
        hours[start:stop] = seen.sum(axis=1) * step_hours
    return hours


def _per_building(owner: npt.NDArray[np.int64], area: Floats, values: Floats, count: int) -> Floats:
    total = np.bincount(owner, weights=area, minlength=count)
    weighted = np.bincount(owner, weights=area * values, minlength=count)
    return np.divide(weighted, total, out=np.full(count, np.nan), where=total > 0)


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    days = [parse_day(str(d), "parameter days") for d in parameters["days"]]
    if not 1 <= len(days) <= MAX_DAYS:
        raise AppError(f"parameter days: give one to {MAX_DAYS} dates, not {len(days)}")
    moments = [parse_moment(str(m), "parameter shade_times") for m in parameters["shade_times"]]
    timezone = str(parameters["timezone"])
    step = float(parameters["step_minutes"])
    buildings = inputs.layer("buildings")
    ids = buildings.ids
    mesh = buildings.mesh()
    if not len(mesh):
        raise AppError("the buildings layer has no 3D geometry to cast shadows with")

    normals = mesh.normals()
    labelled = mesh.surfaces != ""
    roof = np.where(labelled, mesh.surfaces == "RoofSurface", normals[:, 2] > ROOF_MIN_NORMAL_Z)
    wall = np.where(
        labelled, mesh.surfaces == "WallSurface", np.abs(normals[:, 2]) <= ROOF_MIN_NORMAL_Z
    )
    include_facades = bool(parameters["include_facades"])
    targets = np.nonzero(roof | (wall if include_facades else False))[0]
    samples = sample_triangles(mesh.corners[targets], float(parameters["surface_spacing_m"]))
    triangle = targets[samples.triangle]
    on_roof = roof[triangle]
    owner = mesh.objects[triangle]

    # The ground: a flat plane at the buildings' usual base (the median of each building's
    # lowest point), open wherever no footprint covers it.
    base = np.full(len(ids), np.inf)
    np.minimum.at(base, mesh.objects, mesh.corners[:, :, 2].min(axis=1))
    ground_level = float(np.median(base[np.isfinite(base)]))
    grid = ground_grid(
        buildings.footprints(),
        float(parameters["cell_size_m"]),
        margin=float(parameters["grid_margin_m"]),
    )
    if not len(grid):
        raise AppError("the buildings have no footprints to lay a ground grid around")
    ground_points = grid.points(ground_level + GROUND_LIFT_M)
    up = np.tile([0.0, 0.0, 1.0], (len(grid), 1))
    context.progress(
        0.05, f"{len(samples.points):,} points on {len(targets):,} surfaces, {len(grid):,} cells"
    )

    corners = mesh.corners
    centre = corners.reshape(-1, 3).mean(axis=0)
    lon, lat = inputs.lonlat(float(centre[0]), float(centre[1]))
    scene = Occluder(corners)
    out = Outputs()
    columns: dict[str, Any] = {}
    count = len(ids)
    min_hours = float(parameters["min_sun_hours"])
    for number in range(1, MAX_DAYS + 1):
        roof_name, facade_name = f"roof_sun_hours_day{number}", f"facade_sun_hours_day{number}"
        if number > len(days):
            out.attribute(roof_name, [], [])
            out.attribute(facade_name, [], [])
            out.indicator(f"ground_mean_sun_hours_day{number}", None)
            out.indicator(f"ground_share_below_min_day{number}", None)
            continue
        path = sun_path(
            days[number - 1], lat, lon, timezone, step, float(parameters["min_altitude_deg"])
        )
        surface_hours = _sun_hours(
            scene, samples.points, samples.normals, path.directions, path.step_hours
        )
        ground_hours = _sun_hours(scene, ground_points, up, path.directions, path.step_hours)
        for name, part in ((roof_name, on_roof), (facade_name, ~on_roof)):
            if name == facade_name and not include_facades:
                out.attribute(name, [], [])
                continue
            means = _per_building(owner[part], samples.area[part], surface_hours[part], count)
            keep = np.nonzero(np.isfinite(means))[0]
            out.attribute(name, [ids[i] for i in keep], [round(float(means[i]), 2) for i in keep])
        columns[f"sun_hours_{path.day}"] = np.round(ground_hours, 2)
        out.indicator(f"ground_mean_sun_hours_day{number}", round(float(ground_hours.mean()), 2))
        out.indicator(
            f"ground_share_below_min_day{number}",
            round(float((ground_hours < min_hours).mean()), 4),
        )
        context.progress(0.05 + 0.8 * number / len(days), f"sun hours on {path.day}")

    for moment in moments:
        altitude, azimuth = sun_at(moment, lat, lon, timezone)
        label = f"shade_{moment.isoformat(timespec='minutes')}"
        if altitude <= 0:
            columns[label] = [True] * len(grid)
            context.log(f"{label}: the sun is below the horizon; everything is in shade")
            continue
        sun = direction(altitude, azimuth)[None, :]
        lit = np.zeros(len(grid), dtype=bool)
        for start in range(0, len(grid), _CHUNK):
            stop = start + _CHUNK
            lit[start:stop] = scene.visible(ground_points[start:stop], up[start:stop], sun)[:, 0]
        columns[label] = [bool(v) for v in ~lit]
    out.layer("ground_sun_and_shade", grid.features(columns))
    out.indicator("ground_cells", len(grid))
    out.indicator("ground_level_m", round(ground_level, 2))
    context.log(
        f"{len(grid):,} ground cells of {grid.spacing:g} m at {ground_level:.2f} m; "
        f"{len(samples.points):,} surface points; days {', '.join(d.isoformat() for d in days)}"
    )
    return out
