"""Solar potential: annual irradiation, usable area and yield of every building's roof.

Roof surfaces are the triangles the data marks ``RoofSurface`` (LoD2); on triangles without
semantics (LoD1 blocks, extruded footprints) every face tilted less than 84° from horizontal
and facing up counts as roof. Facades (``WallSurface``, or near-vertical faces) are added when
the municipality asks for them. Points about ``sample_spacing_m`` apart on those surfaces
see the sky through the twin's own buildings (``tweeling.sdk.visibility``); the year's
irradiation follows from the shipped Dutch climate with pvlib's sun positions and the
Hay–Davies sky (``irradiance.py``). A point counts as usable when it receives at least
``min_irradiation_kwh_m2``; a building's usable area is kept only from
``min_useful_area_m2`` up, and its yield is usable area × irradiation × module efficiency ×
performance ratio.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from solar_potential.climate import typical_year
from solar_potential.irradiance import annual_irradiation, bin_sun
from tweeling.sdk import AppError, Context, Inputs, Outputs
from tweeling.sdk.visibility import Occluder, iter_samples, sky_patches

_CHUNK = 20_000  # sample points per batch: visibility rows of 144 patches, about 3 MB


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    buildings = inputs.layer("buildings")
    ids = buildings.ids
    mesh = buildings.mesh()
    if not len(mesh):
        raise AppError("the buildings layer has no 3D geometry to compute solar potential on")
    roof, wall = mesh.roofs_and_walls()
    include_facades = bool(parameters["include_facades"])
    targets = np.nonzero(roof | (wall if include_facades else False))[0]
    corners = mesh.corners
    centre = corners.reshape(-1, 3).mean(axis=0)
    lon, lat = inputs.lonlat(float(centre[0]), float(centre[1]))
    weather = typical_year(lat, lon)
    sky = sky_patches(int(parameters["sky_bands"]))
    sun = bin_sun(weather, sky)
    scene = Occluder(corners)
    albedo = float(parameters["albedo"])
    threshold = float(parameters["min_irradiation_kwh_m2"])
    context.progress(0.05, f"{len(targets):,} surfaces of {len(ids):,} buildings")

    # Per building: area and energy (area × kWh/m²) of roof, of usable surface and of facade,
    # summed batch by batch so that a city's sample points are never all in memory at once.
    count = len(ids)
    sums = {key: np.zeros(count) for key in ("roof", "roof_kwh", "usable", "usable_kwh")}
    sums |= {"facade": np.zeros(count), "facade_kwh": np.zeros(count)}
    spacing = float(parameters["sample_spacing_m"])
    points = 0
    for samples in iter_samples(corners[targets], spacing, _CHUNK):
        seen = scene.visible(samples.points, samples.normals, sky.directions)
        irradiation = annual_irradiation(samples.normals, seen, sun, sky, albedo)
        triangle = targets[samples.triangle]
        on_roof = roof[triangle]
        owner = mesh.objects[triangle]
        energy = samples.area * irradiation
        usable = irradiation >= threshold
        if not include_facades:
            usable &= on_roof
        for key, where in (("roof", on_roof), ("usable", usable), ("facade", ~on_roof)):
            sums[key] += np.bincount(owner[where], weights=samples.area[where], minlength=count)
            sums[f"{key}_kwh"] += np.bincount(owner[where], weights=energy[where], minlength=count)
        points += len(samples.points)
        done = int(samples.triangle.max()) + 1 if len(samples.triangle) else len(targets)
        context.progress(0.05 + 0.9 * done / len(targets), f"{points:,} points in the sky")

    roof_area, roof_energy = sums["roof"], sums["roof_kwh"]
    usable_area, usable_energy = sums["usable"], sums["usable_kwh"]
    small = usable_area < float(parameters["min_useful_area_m2"])
    usable_area[small] = 0.0
    usable_energy[small] = 0.0
    factor = float(parameters["pv_efficiency"]) * float(parameters["performance_ratio"])
    yield_kwh = usable_energy * factor

    has_roof = roof_area > 0
    out = Outputs()
    keep = [i for i in range(count) if has_roof[i]]
    out.attribute(
        "roof_irradiation_kwh_m2",
        [ids[i] for i in keep],
        [round(float(roof_energy[i] / roof_area[i]), 1) for i in keep],
    )
    out.attribute(
        "roof_area_m2", [ids[i] for i in keep], [round(float(roof_area[i]), 1) for i in keep]
    )
    out.attribute(
        "usable_area_m2", [ids[i] for i in keep], [round(float(usable_area[i]), 1) for i in keep]
    )
    out.attribute("yield_kwh", [ids[i] for i in keep], [round(float(yield_kwh[i])) for i in keep])
    if include_facades:
        facade_area, facade_energy = sums["facade"], sums["facade_kwh"]
        with_facade = [i for i in range(count) if facade_area[i] > 0]
        out.attribute(
            "facade_irradiation_kwh_m2",
            [ids[i] for i in with_facade],
            [round(float(facade_energy[i] / facade_area[i]), 1) for i in with_facade],
        )
    else:
        out.attribute("facade_irradiation_kwh_m2", [], [])
    out.indicator("total_yield_mwh", round(float(yield_kwh.sum()) / 1000, 1))
    out.indicator("total_usable_area_m2", round(float(usable_area.sum()), 1))
    out.indicator("horizontal_irradiation_kwh_m2", round(float(weather.ghi.sum()) / 1000, 1))
    context.log(
        f"{len(keep)} buildings with roofs; {usable_area.sum():,.0f} m2 usable; "
        f"{yield_kwh.sum() / 1000:,.0f} MWh/year"
    )
    return out
