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
from tweeling.sdk.visibility import Occluder, direction, iter_samples

Floats = npt.NDArray[np.float64]
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

    roof, wall = mesh.roofs_and_walls()
    include_facades = bool(parameters["include_facades"])
    targets = np.nonzero(roof | (wall if include_facades else False))[0]

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
    context.progress(0.05, f"{len(targets):,} surfaces, {len(grid):,} ground cells")

    corners = mesh.corners
    centre = corners.reshape(-1, 3).mean(axis=0)
    lon, lat = inputs.lonlat(float(centre[0]), float(centre[1]))
    scene = Occluder(corners)
    out = Outputs()
    columns: dict[str, Any] = {}
    count = len(ids)
    min_hours = float(parameters["min_sun_hours"])
    min_altitude = float(parameters["min_altitude_deg"])
    paths = [sun_path(day, lat, lon, timezone, step, min_altitude) for day in days]

    # Area and area × hours per building, roof and facade, per day: summed batch by batch of
    # surface points, so a city's points are never all in memory at once.
    area = {part: np.zeros(count) for part in ("roof", "facade")}
    hours = {(part, n): np.zeros(count) for part in area for n in range(len(days))}
    points = 0
    spacing = float(parameters["surface_spacing_m"])
    for samples in iter_samples(mesh.corners[targets], spacing, _CHUNK):
        triangle = targets[samples.triangle]
        owner = mesh.objects[triangle]
        parts = {"roof": roof[triangle], "facade": ~roof[triangle]}
        for part, where in parts.items():
            area[part] += np.bincount(owner[where], samples.area[where], minlength=count)
        for n, path in enumerate(paths):
            sunny = _sun_hours(
                scene, samples.points, samples.normals, path.directions, path.step_hours
            )
            for part, where in parts.items():
                weights = (samples.area * sunny)[where]
                hours[part, n] += np.bincount(owner[where], weights, minlength=count)
        points += len(samples.points)
        done = int(samples.triangle.max()) + 1
        context.progress(0.05 + 0.6 * done / len(targets), f"{points:,} surface points")

    for number in range(1, MAX_DAYS + 1):
        roof_name, facade_name = f"roof_sun_hours_day{number}", f"facade_sun_hours_day{number}"
        if number > len(days):
            out.attribute(roof_name, [], [])
            out.attribute(facade_name, [], [])
            out.indicator(f"ground_mean_sun_hours_day{number}", None)
            out.indicator(f"ground_share_below_min_day{number}", None)
            continue
        path = paths[number - 1]
        for name, part in ((roof_name, "roof"), (facade_name, "facade")):
            if part == "facade" and not include_facades:
                out.attribute(name, [], [])
                continue
            total = area[part]
            means = np.divide(
                hours[part, number - 1], total, out=np.full(count, np.nan), where=total > 0
            )
            keep = np.nonzero(np.isfinite(means))[0]
            out.attribute(name, [ids[i] for i in keep], [round(float(means[i]), 2) for i in keep])
        ground_hours = _sun_hours(scene, ground_points, up, path.directions, path.step_hours)
        columns[f"sun_hours_{path.day}"] = np.round(ground_hours, 2)
        out.indicator(f"ground_mean_sun_hours_day{number}", round(float(ground_hours.mean()), 2))
        out.indicator(
            f"ground_share_below_min_day{number}",
            round(float((ground_hours < min_hours).mean()), 4),
        )
        context.progress(0.65 + 0.3 * number / len(days), f"the ground's sun on {path.day}")

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
        f"{points:,} surface points; days {', '.join(d.isoformat() for d in days)}"
    )
    return out
