"""What the synthetic city is made of: kinds of building, districts, streets and trees.

Each table pairs its entries with weights; the ``*_CUM`` tables are those weights as cumulative
fractions, for drawing an entry with ``bisect(TABLE_CUM, rng.random())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DISTRICTS",
    "DISTRICT_CUM",
    "ERA_CUM",
    "KIND_CUM",
    "PAVEMENT",
    "STATUSES",
    "STATUS_CUM",
    "STREETS",
    "STREET_CUM",
    "TREES",
    "Kind",
]


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of building: what it is used for and the ranges its shape is drawn from."""

    doel: tuple[str, ...]  # gebruiksdoel, drawn uniformly
    width: tuple[int, int]  # frontage, mm
    depth: tuple[int, int]  # mm, at most 14 m
    storeys: tuple[int, int]
    storey_h: int  # mm
    pitched: float  # chance of a gable or hip roof (then also LoD2.2)
    lshape: float  # chance of an L-shaped footprint (flat roofs only)
    part: float  # chance of a lower annex as BuildingPart (flat roofs only)
    gap: float  # chance of an alley after the building
    units_per: int  # frontage (mm) per verblijfsobject per storey; 0: none, -1: exactly one


_WOON, _WINKEL, _KANTOOR = ("woonfunctie",), ("winkelfunctie",), ("kantoorfunctie",)
_OVERIG, _INDUSTRIE = ("overige gebruiksfunctie",), ("industriefunctie",)
_MAATSCHAPPELIJK = (
    "bijeenkomstfunctie",
    "onderwijsfunctie",
    "gezondheidszorgfunctie",
    "sportfunctie",
    "logiesfunctie",
)

# fmt: off
# doel, width, depth, storeys, storey_h, pitched, lshape, part, gap, units_per: see Kind
_TERRACED = Kind(_WOON, (4800, 7200), (8000, 12000), (2, 3), 2900, .45, .1, .14, .15, -1)
_DETACHED = Kind(_WOON, (8000, 12000), (8000, 12000), (1, 2), 2900, .65, .2, .14, 1, -1)
_APARTMENT = Kind(_WOON, (14000, 36000), (10000, 14000), (3, 6), 3000, 0, .3, .1, .3, 7000)
_SHOP = Kind(_WINKEL, (6000, 14000), (10000, 14000), (1, 4), 3300, 0, .35, .1, .2, 9000)
_OFFICE = Kind(_KANTOOR, (15000, 30000), (12000, 14000), (3, 8), 3400, 0, .3, .1, .5, 15000)
_TOWER = Kind(_KANTOOR + _WOON, (18000, 28000), (13000, 14000), (8, 12), 3300, 0, 0, 0, .8, 6000)
_SHED = Kind(_OVERIG, (3000, 6000), (4000, 7000), (1, 1), 3000, 0, 0, 0, .6, 0)
_INDUSTRY = Kind(_INDUSTRIE, (20000, 40000), (12000, 14000), (2, 3), 4000, 0, .35, .1, .6, -1)
_PUBLIC = Kind(_MAATSCHAPPELIJK, (15000, 35000), (12000, 14000), (1, 4), 3600, 0, .4, .1, .7, -1)

# district: weight, kinds with weights, eras (first year, last year) with weights
DISTRICTS: tuple[
    tuple[float, tuple[tuple[Kind, float], ...], tuple[tuple[int, int, float], ...]], ...
] = (
    (.6,  # residential
     ((_TERRACED, .64), (_DETACHED, .15), (_SHED, .07), (_APARTMENT, .07), (_SHOP, .05),
      (_PUBLIC, .02)),
     ((1600, 1850, .04), (1850, 1945, .3), (1945, 1975, .3), (1975, 2000, .22), (2000, 2024, .14))),
    (.15,  # old centre
     ((_TERRACED, .3), (_SHOP, .32), (_APARTMENT, .15), (_OFFICE, .1), (_PUBLIC, .08),
      (_SHED, .05)),
     ((1600, 1850, .5), (1850, 1945, .5))),
    (.1,  # new business district
     ((_APARTMENT, .4), (_OFFICE, .22), (_TOWER, .13), (_SHOP, .1), (_TERRACED, .15)),
     ((1990, 2024, 1),)),
    (.15,  # industrial estate
     ((_INDUSTRY, .55), (_OFFICE, .2), (_SHED, .2), (_PUBLIC, .05)),
     ((1950, 2020, 1),)),
)

STATUSES = (("Pand in gebruik", .97), ("Pand in gebruik (niet ingemeten)", .02),
            ("Verbouwing pand", .01))

# street kind: weight, widths (mm), function, materials, traffic (per day), speed (km/h), lanes
STREETS: tuple[
    tuple[float, tuple[int, ...], str, tuple[str, ...], tuple[int, int], int, int], ...
] = (
    (.8, (10000, 12000, 14000, 16000), "rijbaan lokale weg", ("asfalt", "klinkers"), (300, 8000),
     30, 2),
    (.12, (8000, 10000), "fietspad", ("rood asfalt", "beton"), (200, 3000), 30, 2),
    (.08, (8000, 10000, 12000), "voetpad", ("tegels", "klinkers"), (0, 0), 15, 1),
)
# fmt: on
PAVEMENT = 2_500  # width of the voetpad along both sides of a rijbaan or fietspad

# species, height (dm), crown diameter (dm), trunk diameter (cm)
TREES: tuple[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]], ...] = (
    ("Tilia × europaea", (100, 220), (50, 100), (25, 80)),
    ("Platanus × hispanica", (120, 250), (80, 140), (30, 100)),
    ("Quercus robur", (100, 220), (60, 120), (30, 90)),
    ("Acer pseudoplatanus", (80, 200), (50, 100), (20, 70)),
    ("Acer platanoides", (80, 160), (50, 90), (20, 60)),
    ("Fraxinus excelsior", (100, 220), (60, 110), (25, 80)),
    ("Ulmus 'Columella'", (80, 150), (30, 50), (20, 50)),
    ("Aesculus hippocastanum", (100, 200), (70, 120), (30, 90)),
    ("Betula pendula", (80, 180), (40, 70), (15, 45)),
    ("Carpinus betulus 'Fastigiata'", (60, 140), (30, 60), (15, 40)),
    ("Gleditsia triacanthos", (80, 160), (50, 90), (20, 50)),
    ("Prunus avium", (50, 120), (40, 70), (15, 40)),
    ("Alnus glutinosa", (80, 160), (40, 80), (20, 50)),
)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    out: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0
    return out


DISTRICT_CUM = _cumulative([d[0] for d in DISTRICTS])
KIND_CUM = [_cumulative([k[1] for k in d[1]]) for d in DISTRICTS]
ERA_CUM = [_cumulative([e[2] for e in d[2]]) for d in DISTRICTS]
STATUS_CUM = _cumulative([s[1] for s in STATUSES])
STREET_CUM = _cumulative([s[0] for s in STREETS])
