"""The sun's path on chosen days and at chosen moments, from pvlib's solar position (NREL SPA).

Dates and times are the municipality's local clock (``Europe/Amsterdam`` by default, so
summer time is taken into account); each day is sampled every ``step_minutes`` at the middle
of each step, and a step counts as sunny when the sun stands above ``min_altitude_deg`` and
reaches the point. Sun hours are the sunny steps times the step length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from tweeling.sdk import AppError
from tweeling.sdk.visibility import direction

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SunPath:
    """Unit vectors to the sun (x east, y north, z up) for the steps it is up, per day."""

    day: str
    directions: Floats
    step_hours: float


def parse_day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AppError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def parse_moment(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise AppError(
            f"{where}: {text!r} is not a local date and time (YYYY-MM-DDTHH:MM)"
        ) from None


def _positions(times: pd.DatetimeIndex, lat: float, lon: float) -> tuple[Floats, Floats]:
    position = pvlib.solarposition.get_solarposition(times, lat, lon)
    return (
        90.0 - position["apparent_zenith"].to_numpy(dtype=np.float64),
        position["azimuth"].to_numpy(dtype=np.float64),
    )


def sun_path(
    day: date, lat: float, lon: float, timezone: str, step_minutes: float, min_altitude: float
) -> SunPath:
    """The sun's directions over one local day, one per step while it is up."""
    steps = round(24 * 60 / step_minutes)
    start = pd.Timestamp(day.isoformat(), tz=timezone)
    middles = start + pd.to_timedelta((np.arange(steps) + 0.5) * step_minutes, unit="min")
    altitude, azimuth = _positions(pd.DatetimeIndex(middles), lat, lon)
    up = altitude > min_altitude
    return SunPath(day.isoformat(), direction(altitude[up], azimuth[up]), step_minutes / 60)


def sun_at(moment: datetime, lat: float, lon: float, timezone: str) -> tuple[float, float]:
    """The sun's altitude and azimuth (degrees) at a local moment."""
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp
    altitude, azimuth = _positions(pd.DatetimeIndex([stamp]), lat, lon)
    return float(altitude[0]), float(azimuth[0])
