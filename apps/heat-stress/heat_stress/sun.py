"""The sun on the chosen day: its hourly positions and the clear-sky irradiance.

Heat-stress assessments are made for a cloudless day, the situation in which the radiation
load on people, and so the difference between sun and shade, is largest. Positions come from
pvlib's NREL SPA (Reda & Andreas 2004); irradiance from the Ineichen–Perez clear-sky model
(Ineichen & Perez 2002) with the monthly Linke turbidity climatology that ships with pvlib
(Remund et al. 2003), so nothing is downloaded at run time.

pvlib is called with plain arrays where its DatetimeIndex paths would use pandas attributes
that newer pandas deprecates (day-of-year), so the run stays free of warnings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from tweeling.sdk import AppError
from tweeling.sdk.visibility import direction

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DaySun:
    """The sun at each whole UTC hour of one day (24 instants)."""

    hours_utc: npt.NDArray[np.int64]
    elevation: Floats  # apparent elevation (with refraction), degrees
    azimuth: Floats  # degrees clockwise from north
    dni: Floats  # direct normal irradiance, W/m²
    dhi: Floats  # diffuse horizontal irradiance, W/m²
    ghi: Floats  # global horizontal irradiance, W/m²
    linke_turbidity: float

    @property
    def up(self) -> npt.NDArray[np.bool_]:
        """The hours with the sun above the horizon."""
        return np.asarray(self.elevation > 0.0)

    @property
    def directions(self) -> Floats:
        """Unit vectors towards the sun (x east, y north, z up), one per hour."""
        return direction(self.elevation, self.azimuth)


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise AppError(f"date {text!r} is not a date as YYYY-MM-DD") from None


def clear_sky_day(day: dt.date, latitude: float, longitude: float) -> DaySun:
    """Sun positions and clear-sky irradiance at 00:00 … 23:00 UTC of ``day``."""
    times = pd.date_range(
        pd.Timestamp(day.isoformat(), tz="UTC"), periods=24, freq="h", name="time"
    )
    position = pvlib.solarposition.get_solarposition(times, latitude, longitude)
    apparent_zenith = position["apparent_zenith"].to_numpy(dtype=np.float64)
    elevation = position["apparent_elevation"].to_numpy(dtype=np.float64)
    azimuth = position["azimuth"].to_numpy(dtype=np.float64)
    # The monthly value (no daily interpolation): the climatology is monthly to begin with.
    turbidity = float(
        pvlib.clearsky.lookup_linke_turbidity(
            times[:1], latitude, longitude, interp_turbidity=False
        ).iloc[0]
    )
    day_of_year = np.full(len(times), day.timetuple().tm_yday)
    extra = np.asarray(pvlib.irradiance.get_extra_radiation(day_of_year), dtype=np.float64)
    dni = np.zeros(len(times))
    dhi = np.zeros(len(times))
    ghi = np.zeros(len(times))
    up = elevation > 0.0
    if up.any():
        relative = pvlib.atmosphere.get_relative_airmass(apparent_zenith[up])
        absolute = pvlib.atmosphere.get_absolute_airmass(relative)  # sea-level pressure
        sky = pvlib.clearsky.ineichen(apparent_zenith[up], absolute, turbidity, 0.0, extra[up])
        dni[up] = np.nan_to_num(np.asarray(sky["dni"], dtype=np.float64))
        dhi[up] = np.nan_to_num(np.asarray(sky["dhi"], dtype=np.float64))
        ghi[up] = np.nan_to_num(np.asarray(sky["ghi"], dtype=np.float64))
    return DaySun(
        np.arange(24, dtype=np.int64),
        elevation,
        azimuth,
        np.clip(dni, 0.0, None),
        np.clip(dhi, 0.0, None),
        np.clip(ghi, 0.0, None),
        turbidity,
    )
