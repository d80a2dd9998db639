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
from tweeling.sdk.visibility import Occluder, sample_triangles, sky_patches

ROOF_MIN_NORMAL_Z = 0.1  # faces steeper than about 84° are walls
_CHUNK = 20_000  # sample points per visibility batch


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    buildings = inputs.layer("buildings")
    ids = buildings.ids
    mesh = buildings.mesh()
    if not len(mesh):
        raise AppError("the buildings layer has no 3D geometry to compute solar potential on")
    normals = mesh.normals()
    # Per triangle, since one model can mix LoD2 buildings with semantics and blocks without
    # (a proposed building drawn as LoD1 among measured LoD2 ones, or the reverse).
    semantic = mesh.surfaces
    labelled = semantic != ""
    roof = np.where(labelled, semantic == "RoofSurface", normals[:, 2] > ROOF_MIN_NORMAL_Z)
    wall = np.where(labelled, semantic == "WallSurface", np.abs(normals[:, 2]) <= ROOF_MIN_NORMAL_Z)
    include_facades = bool(parameters["include_facades"])
    targets = np.nonzero(roof | (wall if include_facades else False))[0]
    samples = sample_triangles(mesh.corners[targets], float(parameters["sample_spacing_m"]))
    triangle = targets[samples.triangle]
    on_roof = roof[triangle]
    owner = mesh.objects[triangle]
    context.progress(0.05, f"{len(samples.points):,} points on {len(targets):,} surfaces")

    centre = mesh.corners.reshape(-1, 3).mean(axis=0)
    lon, lat = inputs.lonlat(float(centre[0]), float(centre[1]))
    weather = typical_year(lat, lon)
    sky = sky_patches(int(parameters["sky_bands"]))
    sun = bin_sun(weather, sky)
    scene = Occluder(mesh.corners)
    albedo = float(parameters["albedo"])
    irradiation = np.empty(len(samples.points))
    for start in range(0, len(samples.points), _CHUNK):
        stop = start + _CHUNK
        seen = scene.visible(
            samples.points[start:stop], samples.normals[start:stop], sky.directions
        )
        irradiation[start:stop] = annual_irradiation(
            samples.normals[start:stop], seen, sun, sky, albedo
        )
        context.progress(0.05 + 0.9 * stop / max(len(samples.points), 1), "sky visibility")

    count = len(ids)
    area = samples.area
    roof_area = np.bincount(owner[on_roof], weights=area[on_roof], minlength=count)
    roof_energy = np.bincount(
        owner[on_roof], weights=(area * irradiation)[on_roof], minlength=count
    )
    usable = irradiation >= float(parameters["min_irradiation_kwh_m2"])
    if not include_facades:
        usable &= on_roof
    usable_area = np.bincount(owner[usable], weights=area[usable], minlength=count)
    usable_energy = np.bincount(
        owner[usable], weights=(area * irradiation)[usable], minlength=count
    )
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
        facade = ~on_roof
        facade_area = np.bincount(owner[facade], weights=area[facade], minlength=count)
        facade_energy = np.bincount(
            owner[facade], weights=(area * irradiation)[facade], minlength=count
        )
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
