"""Annual irradiation on surfaces among buildings: Hay–Davies on a cumulative sky.

Per hour of the year, the irradiance on a plane is (Hay & Davies 1980, as implemented in
pvlib ``irradiance.haydavies``; ground reflection isotropic, Liu & Jordan):

    beam         DNI · max(0, cos AOI)
    circumsolar  DHI · AI · max(0, cos AOI) / max(cos Z, 0.01745)      AI = DNI / DNI_extra
    isotropic    DHI · (1 − AI) · (1 + cos β) / 2
    ground       GHI · albedo · (1 − cos β) / 2

Shading enters through the sky patches (``tweeling.sdk.visibility.sky_patches``): each hour's
sun falls in one patch, and the beam and circumsolar light of that hour reach a point when
that patch is open from it; the isotropic sky reaches it in proportion to the open patches,
weighted by their projection on the plane. Summing the hours per patch first (``SunPatches``)
makes a year cost one product per point and patch, however many hours there are — the
cumulative-sky method (Robinson & Stone 2004). Without shading the sum is exactly pvlib's;
with shading the error is that of treating a patch's hours as one direction, checked against
hour-by-hour ray casting in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from tweeling.sdk.visibility import Sky

Floats = npt.NDArray[np.float64]
MIN_COS_ZENITH = 0.01745  # pvlib's floor in Hay–Davies (cos 89°)


@dataclass(frozen=True)
class Weather:
    """An hourly year at one place: irradiance components (W/m²) and the sun's position."""

    times: pd.DatetimeIndex
    ghi: Floats
    dni: Floats
    dhi: Floats
    dni_extra: Floats
    zenith: Floats
    azimuth: Floats

    @property
    def sun(self) -> Floats:
        """Unit vectors towards the sun (x east, y north, z up)."""
        alt = np.radians(90.0 - self.zenith)
        az = np.radians(self.azimuth)
        return np.stack([np.cos(alt) * np.sin(az), np.cos(alt) * np.cos(az), np.sin(alt)], axis=1)


def weather_from_ghi(times: pd.DatetimeIndex, ghi: Floats, lat: float, lon: float) -> Weather:
    """Split hourly global horizontal irradiance into beam and diffuse (Erbs et al. 1982)."""
    # The sun's position at the middle of each hour that the value averages over.
    middle = times - pd.Timedelta(minutes=30)
    position = pvlib.solarposition.get_solarposition(middle, lat, lon)
    zenith = position["zenith"].to_numpy()
    day_of_year = middle.day_of_year.to_numpy()
    parts = pvlib.irradiance.erbs(ghi, zenith, day_of_year)
    extra = np.asarray(pvlib.irradiance.get_extra_radiation(day_of_year), dtype=np.float64)
    day = zenith < 90
    return Weather(
        times,
        np.where(day, ghi, 0.0),
        np.where(day, np.nan_to_num(np.asarray(parts["dni"], dtype=np.float64)), 0.0),
        np.where(day, np.nan_to_num(np.asarray(parts["dhi"], dtype=np.float64)), 0.0),
        extra,
        zenith,
        position["azimuth"].to_numpy(),
    )


def plane_components(
    weather: Weather, normal: Floats, albedo: float
) -> tuple[Floats, Floats, Floats, Floats]:
    """Hourly beam, circumsolar, isotropic and ground irradiance on an open plane."""
    cos_aoi = np.clip(weather.sun @ normal, 0.0, None)
    cos_beta = float(np.clip(normal[2], -1.0, 1.0))
    cos_z = np.maximum(np.cos(np.radians(weather.zenith)), MIN_COS_ZENITH)
    anisotropy = np.divide(weather.dni, weather.dni_extra)
    beam = weather.dni * cos_aoi
    circumsolar = np.maximum(weather.dhi * anisotropy * cos_aoi / cos_z, 0.0)
    isotropic = np.maximum(weather.dhi * (1 - anisotropy) * (1 + cos_beta) / 2, 0.0)
    ground = weather.ghi * albedo * (1 - cos_beta) / 2
    up = weather.zenith < 90
    return beam * up, circumsolar * up, isotropic * up, ground * up


@dataclass(frozen=True)
class SunPatches:
    """The year's sun binned into sky patches."""

    patch_of_hour: npt.NDArray[np.int64]  # -1 at night
    weather: Weather


def bin_sun(weather: Weather, sky: Sky) -> SunPatches:
    """Each daylight hour's sun to the patch whose centre is nearest."""
    sun = weather.sun
    nearest = np.argmax(sun @ sky.directions.T, axis=1)
    return SunPatches(np.where(weather.zenith < 90, nearest, -1), weather)


def annual_irradiation(
    normals: Floats,
    visible: npt.NDArray[np.bool_],
    sun: SunPatches,
    sky: Sky,
    albedo: float = 0.2,
) -> Floats:
    """kWh/m² in the year for surfaces with these unit ``normals`` (one per row) and these
    rows of open sky patches (``visible``: points × patches)."""
    weather = sun.weather
    out = np.zeros(len(normals))
    patches = len(sky)
    day = sun.patch_of_hour >= 0
    # The daylight hours ordered by their sun's patch, so that one reduceat sums each
    # patch's hours for a whole block of normals.
    order = np.argsort(sun.patch_of_hour[day], kind="stable")
    hours = sun.patch_of_hour[day][order]
    lit = np.unique(hours)
    first = np.searchsorted(hours, lit)
    sun_dirs = weather.sun[day][order]
    zenith = weather.zenith[day][order]
    dni, dhi = weather.dni[day][order], weather.dhi[day][order]
    cos_z = np.maximum(np.cos(np.radians(zenith)), MIN_COS_ZENITH)
    anisotropy = dni / weather.dni_extra[day][order]
    direct_weight = dni + np.maximum(dhi * anisotropy, 0.0) / cos_z
    isotropic_total = float(np.maximum(dhi * (1 - anisotropy), 0.0).sum())
    ghi_total = float(weather.ghi[day].sum())
    # Surfaces sharing a normal (a triangle's samples) share their per-patch sun sums.
    rounded = np.ascontiguousarray(np.round(normals, 6) + 0.0)  # + 0.0: no negative zeros
    keys = rounded.view(np.dtype((np.void, rounded.dtype.itemsize * 3))).ravel()
    _, index, which = np.unique(keys, return_index=True, return_inverse=True)
    unique = rounded[index]
    which = which.reshape(-1)
    for start in range(0, len(unique), 2048):
        block = unique[start : start + 2048]
        cos_aoi = np.clip(block @ sun_dirs.T, 0.0, None) * direct_weight  # (n, hours)
        per_patch = np.zeros((len(block), patches))
        if len(lit):
            per_patch[:, lit] = np.add.reduceat(cos_aoi, first, axis=1)
        members = np.nonzero((which >= start) & (which < start + len(block)))[0]
        rows = which[members] - start
        seen_rows = visible if len(members) == len(normals) else visible[members]
        direct = np.einsum("ij,ij->i", seen_rows, per_patch[rows])
        weights = np.clip(block @ sky.directions.T, 0.0, None) * sky.solid_angle
        total = weights.sum(axis=1)[rows]
        seen = np.einsum("ij,ij->i", seen_rows, weights[rows])
        open_share = np.divide(seen, total, out=np.zeros(len(members)), where=total > 0)
        cos_beta = np.clip(normals[members, 2], -1.0, 1.0)
        isotropic = isotropic_total * (1 + cos_beta) / 2 * open_share
        ground = ghi_total * albedo * (1 - cos_beta) / 2
        out[members] = (direct + isotropic + ground) / 1000.0
    return out
