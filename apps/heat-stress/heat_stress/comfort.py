"""Thermal stress: the UTCI of each cell, its stress category and the hotspots.

The Universal Thermal Climate Index (Bröde et al. 2012, Int J Biometeorol 56:481–494) is the
air temperature of a reference environment that strains the body as the real one does. It is
computed with pythermalcomfort's implementation of the official polynomial approximation,
from air temperature, mean radiant temperature, wind speed 10 m above the ground and relative
humidity; its stress categories are the published ones (moderate heat stress above 26 °C,
strong above 32 °C, very strong above 38 °C, extreme above 46 °C).

A hotspot is a cell at or above the UTCI threshold that belongs to a patch of such cells
(edge-connected on the grid) of at least ``min_area_m2``: a stretch of street where people
cannot step into relief, rather than a single sunny cell between shadows.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from tweeling.sdk import AppError

Floats = npt.NDArray[np.float64]

STRONG_HEAT_C = 32.0  # UTCI above this: strong heat stress or worse
VERY_STRONG_HEAT_C = 38.0  # UTCI above this: very strong heat stress or worse


def utci(
    air_c: float | Floats,
    tmrt_c: float | Floats,
    wind_10m: float,
    relative_humidity: float,
) -> tuple[Floats, list[str]]:
    """UTCI (°C, one decimal) and its stress category, per value of ``tmrt_c``.

    Inputs outside the model's range (pythermalcomfort's applicability limits, taken from the
    official UTCI program) fail the run with the library's own explanation rather than give
    NaN cells. (pythermalcomfort compiles its models with numba, which caches the machine
    code on disk: in the platform's sandbox that cache lies in the run's work directory.)
    """
    from pythermalcomfort.models import utci as function

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(tdb=air_c, tr=tmrt_c, v=wind_10m, rh=relative_humidity)
    values = np.atleast_1d(np.asarray(result.utci, dtype=np.float64))
    categories = [str(c) for c in np.atleast_1d(np.asarray(result.stress_category))]
    if not np.isfinite(values).all():
        reasons = "; ".join(sorted({str(w.message) for w in caught})) or "inputs out of range"
        raise AppError(f"UTCI is not defined for these conditions: {reasons}")
    return values, categories


def hotspots(
    centres: Floats, spacing: float, hot: npt.NDArray[np.bool_], min_area_m2: float
) -> npt.NDArray[np.bool_]:
    """Hot cells in edge-connected patches of at least ``min_area_m2``."""
    if not hot.any():
        return np.zeros(len(hot), dtype=bool)
    column = np.rint((centres[:, 0] - centres[:, 0].min()) / spacing).astype(np.int64)
    row = np.rint((centres[:, 1] - centres[:, 1].min()) / spacing).astype(np.int64)
    raster = np.zeros((int(row.max()) + 1, int(column.max()) + 1), dtype=bool)
    raster[row[hot], column[hot]] = True
    labels, _ = ndimage.label(raster)  # 4-connectivity
    patch = labels[row, column]
    sizes = np.bincount(patch.ravel()) * spacing * spacing
    return np.asarray(hot & (sizes[patch] >= min_area_m2), dtype=bool)
