"""The climate the app ships: a year of measured hourly global radiation at De Bilt.

``data/knmi-260-2021.csv`` holds KNMI's hourly observations of global horizontal radiation
(Q, J/cm² per hour) at station 260 De Bilt for 2021 (KNMI open data, CC BY 4.0; the file
names its source). De Bilt lies in the middle of the Netherlands; the west coast receives a
few per cent more and the east a few per cent less. The beam and diffuse parts are split
from the measured totals with the Erbs model (``irradiance.weather_from_ghi``) at the twin's
own location, so the sun's path is the twin's and only the cloudiness is De Bilt's.
"""

from __future__ import annotations

import functools
from importlib.resources import files

import numpy as np
import pandas as pd

from solar_potential.irradiance import Weather, weather_from_ghi

CLIMATE_FILE = "knmi-260-2021.csv"
J_PER_CM2_HOUR_TO_W_PER_M2 = 10_000 / 3600  # J/cm² in one hour → mean W/m² over that hour


@functools.cache
def _measured() -> tuple[pd.DatetimeIndex, np.ndarray]:
    text = files("solar_potential").joinpath("data", CLIMATE_FILE).read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines() if line and line[0].isdigit()]
    dates = pd.to_datetime([r[0] for r in rows], format="%Y%m%d", utc=True)
    hours = pd.to_timedelta([int(r[1]) for r in rows], unit="h")
    q = np.array([float(r[2]) if r[2].strip() else np.nan for r in rows])
    times = pd.DatetimeIndex(dates + hours)  # the end of each hour, in UT
    # A missing hour takes the mean of its neighbours (there are few or none).
    series = pd.Series(q, index=times).interpolate(limit_direction="both")
    return times, series.to_numpy() * J_PER_CM2_HOUR_TO_W_PER_M2


def typical_year(lat: float, lon: float) -> Weather:
    """The shipped year of hourly radiation with the sun's path at (lat, lon)."""
    times, ghi = _measured()
    return weather_from_ghi(times, ghi, lat, lon)


def annual_horizontal_kwh_m2() -> float:
    return float(_measured()[1].sum() / 1000)
