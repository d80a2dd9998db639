"""UTCI through the app's own function against pythermalcomfort's published examples, and the
hotspot rule."""

from __future__ import annotations

import numpy as np
import pytest
from heat_stress.comfort import hotspots, utci

from tweeling.sdk import AppError


def test_utci_matches_the_published_examples() -> None:
    # pythermalcomfort 4.8.1, help(utci): utci(tdb=25, tr=25, v=1.0, rh=50) -> 24.6,
    # "no thermal stress"; utci(tdb=[25, 40], tr=25, v=1.0, rh=50) -> [24.6, 40.4]
    value, category = utci(25.0, 25.0, 1.0, 50.0)
    assert value[0] == pytest.approx(24.6, abs=0.05)
    assert category == ["no thermal stress"]
    values, categories = utci(np.array([25.0, 40.0]), 25.0, 1.0, 50.0)
    assert values == pytest.approx([24.6, 40.4], abs=0.05)
    assert categories == ["no thermal stress", "very strong heat stress"]


def test_utci_outside_its_validity_fails_with_the_reason() -> None:
    # 40 °C at 95 % humidity: vapour pressure about 7 kPa, beyond UTCI's 5 kPa
    with pytest.raises(AppError, match=r"UTCI is not defined.*pa \(kPa\)"):
        utci(40.0, np.array([50.0, 60.0]), 2.0, 95.0)


def test_a_hotspot_is_a_patch_not_a_single_cell() -> None:
    # 2 m cells on a 7 x 7 lattice: a 3 x 3 block of hot cells (36 m²) and one lone hot cell
    xs, ys = np.meshgrid(np.arange(7) * 2.0 + 1, np.arange(7) * 2.0 + 1)
    centres = np.column_stack([xs.ravel(), ys.ravel()])
    hot = np.zeros(49, dtype=bool)
    block = (centres[:, 0] <= 5) & (centres[:, 1] <= 5)
    lone = (centres[:, 0] == 13) & (centres[:, 1] == 13)
    hot[block | lone] = True
    flagged = hotspots(centres, 2.0, hot, min_area_m2=20.0)
    assert flagged[block].all()
    assert not flagged[lone].any()
    assert flagged.sum() == 9
    assert hotspots(centres, 2.0, hot, min_area_m2=0.0).sum() == 10
