"""Coordinate reference systems: parsing the ways files name them, and cached transforms."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from tweeling.errors import InvalidInput

CRS84 = "OGC:CRS84"
DUTCH_DEFAULT = "EPSG:7415"  # RD New + NAP height

_PATTERNS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/[\d.]+/(\d+)$", re.I),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.I),
    re.compile(r"^EPSG:+(\d+)$", re.I),
    re.compile(r"^(\d+)$"),
)


def parse_crs(text: str) -> str:
    """Canonical ``EPSG:n`` (or ``OGC:CRS84``) for any way a file or user names a CRS.

    Raises :class:`InvalidInput` for names we cannot read or codes PROJ does not know.
    """
    value = text.strip()
    if re.search(r"CRS84$", value, re.I):
        return CRS84
    for pattern in _PATTERNS:
        match = pattern.match(value)
        if match:
            code = f"EPSG:{int(match.group(1))}"
            try:
                _crs(code)
            except CRSError:
                raise InvalidInput(f"unknown CRS {text!r}: PROJ has no {code}") from None
            return code
    raise InvalidInput(f"unknown CRS {text!r}: expected EPSG:<code> or an OGC CRS URL")


def crs_url(code: str) -> str:
    """The OGC URL form CityJSON 2.0 uses in ``metadata.referenceSystem``."""
    if code == CRS84:
        return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    return f"https://www.opengis.net/def/crs/EPSG/0/{code.split(':', 1)[1]}"


@lru_cache(maxsize=64)
def _crs(code: str) -> CRS:
    return CRS.from_user_input(code)


@lru_cache(maxsize=64)
def horizontal(code: str) -> CRS:
    """The 2D part of a CRS: RD New for RD New + NAP, the CRS itself when it is 2D."""
    crs = _crs(code)
    if crs.is_compound:
        return crs.sub_crs_list[0]
    return crs


def is_geographic(code: str) -> bool:
    return bool(horizontal(code).is_geographic)


@lru_cache(maxsize=64)
def transformer(source: str, target: str) -> Transformer:
    """A cached 2D transformer between the horizontal parts of two CRSs (x/y order)."""
    return Transformer.from_crs(horizontal(source), horizontal(target), always_xy=True)


def transform_xy(
    source: str, target: str, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if source == target or len(xs) == 0:
        return xs, ys
    tx, ty = transformer(source, target).transform(xs, ys)
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)
