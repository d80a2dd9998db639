"""The local east-north-up frame a tileset's content lives in.

3D Tiles place content in Earth-centred, Earth-fixed coordinates (EPSG:4978). Storing ECEF
directly in float32 would cost centimetres, so content is written in metres east, north and
up of an origin near the twin, and the root tile's transform carries that frame to ECEF.

Heights go through PROJ's best available transformation. Where the geoid grid for the
twin's vertical datum is not installed (NAP needs nl_nsgi_nlgeo2018), PROJ passes heights
through unchanged and the model sits at datum height over the ellipsoid; the tileset says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

Floats = npt.NDArray[np.float64]
ECEF = "EPSG:4978"


@lru_cache(maxsize=32)
def _to_ecef(crs: str) -> Transformer:
    with warnings.catch_warnings():
        # PROJ warns when the best transformation needs a grid we do not have; the
        # fallback (heights passed through) is then used and reported in the tileset.
        warnings.simplefilter("ignore")
        return Transformer.from_crs(crs, ECEF, always_xy=True)


@dataclass(frozen=True)
class LocalFrame:
    crs: str
    origin: Floats  # ECEF metres
    rotation: Floats  # rows: east, north, up unit vectors in ECEF
    method: str  # the operation PROJ chose, which says how heights were treated

    @classmethod
    def at(cls, crs: str, x: float, y: float, z: float) -> LocalFrame:
        """The frame whose origin is the point (x, y, z) of the twin's CRS."""
        transformer = _to_ecef(crs)
        ox, oy, oz = transformer.transform(x, y, z)
        origin = np.array([ox, oy, oz], dtype=np.float64)
        # Geodetic latitude and longitude of the origin, from ECEF on the GRS80/WGS84 ellipsoid.
        lon = np.arctan2(oy, ox)
        a, f = 6378137.0, 1 / 298.257223563
        e2 = f * (2 - f)
        p = np.hypot(ox, oy)
        lat = np.arctan2(oz, p * (1 - e2))
        for _ in range(5):
            n = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
            h = p / np.cos(lat) - n
            lat = np.arctan2(oz, p * (1 - e2 * n / (n + h)))
        east = np.array([-np.sin(lon), np.cos(lon), 0.0])
        north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
        up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        return cls(crs, origin, np.vstack([east, north, up]), transformer.description or "")

    def to_local(self, points: Floats) -> Floats:
        """Points (n, 3) of the twin's CRS as east, north, up metres from the origin."""
        if not len(points):
            return np.zeros((0, 3))
        x, y, z = _to_ecef(self.crs).transform(points[:, 0], points[:, 1], points[:, 2])
        ecef = np.column_stack([x, y, z]) - self.origin
        return np.asarray(ecef @ self.rotation.T, dtype=np.float64)

    def tile_transform(self) -> list[float]:
        """The 4×4 column-major matrix 3D Tiles uses to carry this frame into ECEF."""
        m = np.eye(4)
        m[:3, :3] = self.rotation.T
        m[:3, 3] = self.origin
        return [float(v) for v in m.T.reshape(-1)]
