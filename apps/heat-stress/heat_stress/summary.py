"""What a run returns: the map's per-cell columns and the indicators that summarise it.

Heat-stress indicators (UTCI, Tmrt, stress shares, shade, sky view) are taken over the cells
people walk or stay on — every surface but water — so that a canal through the district does
not make its streets look cooler than they are. Surface shares are over all cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from heat_stress.comfort import STRONG_HEAT_C, VERY_STRONG_HEAT_C
from heat_stress.surfaces import GREEN, WATER
from tweeling.sdk import Outputs

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CellResults:
    """Everything computed per cell, in the grid's order."""

    surface: list[str]
    unmapped: Bools  # no layer described the surface: assumed paved
    svf: Floats
    sunlit: Bools  # at the design hour
    shade_share: Floats  # of the day's sun hours
    tmrt_c: Floats
    utci_c: Floats
    heat_stress: list[str]
    hotspot: Bools

    @property
    def land(self) -> Bools:
        return np.array([s != WATER for s in self.surface], dtype=bool)

    def columns(self) -> dict[str, Any]:
        """The properties of the heat-map cells."""
        return {
            "surface": self.surface,
            "svf": np.round(self.svf, 3),
            "shade": [not s for s in self.sunlit.tolist()],
            "shade_share": np.round(self.shade_share, 3),
            "tmrt_c": np.round(self.tmrt_c, 1),
            "utci_c": np.round(self.utci_c, 1),
            "heat_stress": self.heat_stress,
            "hotspot": self.hotspot.tolist(),
        }


def _mean(values: npt.NDArray[Any], where: Bools, decimals: int) -> float | None:
    return round(float(values[where].mean()), decimals) if where.any() else None


def indicators(out: Outputs, cells: CellResults, cell_area_m2: float) -> None:
    """The declared indicators (None where there is no land cell to average over)."""
    land = cells.land
    surface = np.asarray(cells.surface)
    count = len(surface)
    out.indicator("cells", count)
    out.indicator("open_space_m2", round(count * cell_area_m2, 1))
    out.indicator("mean_utci_c", _mean(cells.utci_c, land, 1))
    out.indicator("max_utci_c", round(float(cells.utci_c[land].max()), 1) if land.any() else None)
    out.indicator("mean_tmrt_c", _mean(cells.tmrt_c, land, 1))
    out.indicator("strong_heat_stress_share", _mean(cells.utci_c > STRONG_HEAT_C, land, 3))
    out.indicator(
        "very_strong_heat_stress_share", _mean(cells.utci_c > VERY_STRONG_HEAT_C, land, 3)
    )
    out.indicator("hotspot_area_m2", round(float(cells.hotspot.sum()) * cell_area_m2, 1))
    out.indicator("shaded_share", _mean(~cells.sunlit, land, 3))
    out.indicator("mean_sky_view_factor", _mean(cells.svf, land, 3))
    out.indicator("green_share", round(float((surface == GREEN).mean()), 3))
    out.indicator("water_share", round(float((surface == WATER).mean()), 3))
    out.indicator("assumed_paved_share", round(float(cells.unmapped.mean()), 3))
