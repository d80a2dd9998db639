"""A reproducible synthetic Dutch-like city as CityJSONSeq, for scale tests and benchmarks.

The city is a grid of perimeter blocks in RD New (EPSG:7415) starting near Delft: rows of
houses, shops, flats, offices, sheds and the odd tower along the block edges, streets between
the blocks (one ``Road`` feature per street segment), street trees
(``SolitaryVegetationObject``) and parks in some courtyards (``PlantCover``).

Everything is drawn from one ``random.Random`` seeded from ``seed``, on an integer millimetre grid
aligned with the axes, so the same ``(buildings, seed)`` gives byte-identical output, every solid is
exactly closed and planar, and volumes can be checked exactly. Generation streams feature by
feature: memory stays flat whatever the size of the city.
"""

from __future__ import annotations

import math
import pathlib
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["OBJECT_TYPES", "features", "header", "write_cityjsonseq"]

SCALE = (0.001, 0.001, 0.001)
TRANSLATE = (85000.0, 445000.0, 0.0)
REFERENCE_SYSTEM = "https://www.opengis.net/def/crs/EPSG/0/7415"
OBJECT_TYPES = ("Building", "BuildingPart", "Road", "SolitaryVegetationObject", "PlantCover")
PROGRESS_EVERY = 1000

_BUILDINGS_PER_ROAD = 10
_BUILDINGS_PER_TREE = 5
_BUILDINGS_PER_GREEN = 50
_BUILDINGS_PER_BLOCK = 36  # rough mean, only used to shape the grid
_MIN_WIDTH = 3_000  # narrowest frontage (mm)
_CORNER = 15_000  # side rows keep this clear of the front and back rows (deepest footprint: 14 m)
_COURTYARD = 16_000  # inset of a courtyard park from the block edge
_TREE_OFFSET = 1_500  # trees stand this far from the building line, on the pavement
_KERB = 150  # streets lie this much below the block's ground level

_Point = tuple[int, int, int]
_Pool = dict[_Point, int]  # vertex -> local index; insertion order is first-use order
_Faces = list[list[list[int]]]
_Frame = tuple[int, int, int, int]  # origin x, y and the unit axis (ax, ay) of local s


@dataclass(frozen=True, slots=True)
class _Kind:
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
# doel, width, depth, storeys, storey_h, pitched, lshape, part, gap, units_per: see _Kind
_TERRACED = _Kind(_WOON, (4800, 7200), (8000, 12000), (2, 3), 2900, .45, .1, .14, .15, -1)
_DETACHED = _Kind(_WOON, (8000, 12000), (8000, 12000), (1, 2), 2900, .65, .2, .14, 1, -1)
_APARTMENT = _Kind(_WOON, (14000, 36000), (10000, 14000), (3, 6), 3000, 0, .3, .1, .3, 7000)
_SHOP = _Kind(_WINKEL, (6000, 14000), (10000, 14000), (1, 4), 3300, 0, .35, .1, .2, 9000)
_OFFICE = _Kind(_KANTOOR, (15000, 30000), (12000, 14000), (3, 8), 3400, 0, .3, .1, .5, 15000)
_TOWER = _Kind(_KANTOOR + _WOON, (18000, 28000), (13000, 14000), (8, 12), 3300, 0, 0, 0, .8, 6000)
_SHED = _Kind(_OVERIG, (3000, 6000), (4000, 7000), (1, 1), 3000, 0, 0, 0, .6, 0)
_INDUSTRY = _Kind(_INDUSTRIE, (20000, 40000), (12000, 14000), (2, 3), 4000, 0, .35, .1, .6, -1)
_PUBLIC = _Kind(_MAATSCHAPPELIJK, (15000, 35000), (12000, 14000), (1, 4), 3600, 0, .4, .1, .7, -1)

# district: weight, kinds with weights, eras (first year, last year) with weights
_DISTRICTS: tuple[
    tuple[float, tuple[tuple[_Kind, float], ...], tuple[tuple[int, int, float], ...]], ...
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

_STATUSES = (("Pand in gebruik", .97), ("Pand in gebruik (niet ingemeten)", .02),
             ("Verbouwing pand", .01))

# street kind: weight, widths (mm), function, materials, traffic (per day), speed (km/h), lanes
_STREETS: tuple[
    tuple[float, tuple[int, ...], str, tuple[str, ...], tuple[int, int], int, int], ...
] = (
    (.8, (10000, 12000, 14000, 16000), "rijbaan lokale weg", ("asfalt", "klinkers"), (300, 8000),
     30, 2),
    (.12, (8000, 10000), "fietspad", ("rood asfalt", "beton"), (200, 3000), 30, 2),
    (.08, (8000, 10000, 12000), "voetpad", ("tegels", "klinkers"), (0, 0), 15, 1),
)
# fmt: on
_PAVEMENT = 2_500  # width of the voetpad along both sides of a rijbaan or fietspad

# species, height (dm), crown diameter (dm), trunk diameter (cm)
_TREES: tuple[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]], ...] = (
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


def header(seed: int, buildings: int) -> dict[str, Any]:
    """The first line of the CityJSONSeq: transform, CRS and title, no objects."""
    return {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": list(SCALE), "translate": list(TRANSLATE)},
        "metadata": {
            "identifier": f"tweeling-synth-{seed}-{buildings}",
            "referenceSystem": REFERENCE_SYSTEM,
            "title": f"Tweeling synthetic city (seed {seed}, {buildings} buildings)",
        },
        "CityObjects": {},
        "vertices": [],
    }


def features(buildings: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Yield the CityJSONFeatures of the city, deterministic for ``(buildings, seed)``.

    Exactly ``buildings`` Building objects; roads, trees and parks in proportion, each emitted
    after the block they border. Vertices are integers for the header's transform.
    """
    if buildings < 0:
        raise ValueError(f"buildings must be >= 0, got {buildings}")
    return _City(buildings, seed).features()


def write_cityjsonseq(
    path: pathlib.Path,
    buildings: int,
    seed: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the header and every feature to ``path``, one JSON document per line.

    ``on_progress`` gets the number of buildings written since its previous call, about every
    1000 buildings and once more at the end. Returns the number of CityObjects per type.
    """
    if buildings < 0:
        raise ValueError(f"buildings must be >= 0, got {buildings}")
    city = _City(buildings, seed)
    dumps = orjson.dumps
    newline = orjson.OPT_APPEND_NEWLINE
    reported = 0
    with pathlib.Path(path).open("wb", buffering=1 << 20) as out:
        out.write(dumps(header(seed, buildings), option=newline))
        for feature in city.features():
            out.write(dumps(feature, option=newline))
            if city.made - reported >= PROGRESS_EVERY and on_progress is not None:
                on_progress(city.made - reported)
                reported = city.made
    if city.made > reported and on_progress is not None:
        on_progress(city.made - reported)
    return city.counts()


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    out: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0
    return out


_DISTRICT_CUM = _cumulative([d[0] for d in _DISTRICTS])
_KIND_CUM = [_cumulative([k[1] for k in d[1]]) for d in _DISTRICTS]
_ERA_CUM = [_cumulative([e[2] for e in d[2]]) for d in _DISTRICTS]
_STATUS_CUM = _cumulative([s[1] for s in _STATUSES])
_STREET_CUM = _cumulative([s[0] for s in _STREETS])


def _prism(pool: _Pool, ring: Sequence[tuple[int, int]], z0: int, z1: int) -> _Faces:
    """Faces of ``ring`` (counter-clockwise seen from above) extruded from ``z0`` to ``z1``.

    Face order: ground, roof, then one wall per edge, so indices come in first-use order.
    """
    n = len(ring)
    if not pool:  # the first solid of a feature: the indices only depend on n
        _add_prism_points(pool, ring, z0, z1)
        return orjson.loads(_PRISMS.get(n) or _prism_template(n))  # type: ignore[no-any-return]
    points = [(x, y, z0) for x, y in (ring[0], *ring[:0:-1])]
    points += [(x, y, z1) for x, y in ring]
    put = pool.setdefault
    return _prism_faces(
        [put(p, len(pool)) for p in points[:n]], [put(p, len(pool)) for p in points[n:]]
    )


def _add_prism_points(pool: _Pool, ring: Sequence[tuple[int, int]], z0: int, z1: int) -> None:
    """Add the vertices of a prism to an empty pool, in the order _prism_faces uses them."""
    n = len(ring)
    if n == 4:  # spelled out: the commonest case by far, and twice as fast
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = ring
        pool[x0, y0, z0] = 0
        pool[x3, y3, z0] = 1
        pool[x2, y2, z0] = 2
        pool[x1, y1, z0] = 3
        pool[x0, y0, z1] = 4
        pool[x1, y1, z1] = 5
        pool[x2, y2, z1] = 6
        pool[x3, y3, z1] = 7
        return
    x, y = ring[0]
    pool[x, y, z0] = 0
    for i in range(1, n):
        x, y = ring[n - i]
        pool[x, y, z0] = i
    for i, (x, y) in enumerate(ring, n):
        pool[x, y, z1] = i


def _prism_faces(down: list[int], up: list[int]) -> _Faces:
    """Ground (``down``: ring[0], ring[-1], ..., ring[1]), roof (``up``, in ring order), walls."""
    bottom = [down[0], *down[:0:-1]]  # in ring order
    return [
        [down],
        [up],
        *[
            [[b0, b1, u1, u0]]
            for b0, b1, u0, u1 in zip(
                bottom, bottom[1:] + bottom[:1], up, up[1:] + up[:1], strict=True
            )
        ],
    ]


# Building the same nested lists anew for every building is the slowest part of the
# generator; parsing them from JSON (with orjson, in C) gives fresh lists twice as fast.
_PRISMS: dict[int, bytes] = {}
_LOD12S: dict[int, bytes] = {}


def _prism_template(n: int) -> bytes:
    _PRISMS[n] = orjson.dumps(_prism_faces(list(range(n)), list(range(n, 2 * n))))
    return _PRISMS[n]


def _lod12_template(n: int) -> bytes:
    _LOD12S[n] = orjson.dumps(_lod12_geometry(orjson.loads(_PRISMS.get(n) or _prism_template(n))))
    return _LOD12S[n]


# The corners of a pitched-roof box as (s, t, z): s 0, 1, -1, -2 stand for 0, a, h, a - h;
# t 0, 1, -1 for 0, b, h (h = b // 2); z 0, 1, 2 for ground, eave, ridge (see _lod22).
# Then the faces (indices into the corners) and their semantic values.
_CORNERS = ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1))
_GABLE_RIDGE = ((0, -1, 2), (1, -1, 2))
_HIP_RIDGE = ((-1, -1, 2), (-2, -1, 2))
_GABLE = (
    ((0, 3, 2, 1), (0, 1, 5, 4), (2, 3, 7, 6), (3, 0, 4, 8, 7), (1, 2, 6, 9, 5), (4, 5, 9, 8),
     (6, 7, 8, 9)),
    [0, 1, 1, 1, 1, 2, 2],
)  # fmt: skip
_HIP = (
    ((0, 3, 2, 1), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7), (4, 5, 9, 8), (5, 6, 9),
     (6, 7, 8, 9), (7, 4, 8)),
    [0, 1, 1, 1, 1, 2, 2, 2, 2],
)  # fmt: skip
# (hip, pool size, indices the corners already have) -> (new corners in first-use order, JSON)
_LOD22S: dict[tuple[bool, int, tuple[int | None, ...]], tuple[list[int], bytes]] = {}


def _lod22(
    pool: _Pool, frame: _Frame, a: int, b: int, z0: int, ze: int, zr: int, hip: bool
) -> dict[str, Any]:
    """An LoD2.2 solid: the box [0, a] x [0, b] in ``frame``, walls up to ``ze``, and a gable or
    hip roof whose ridge (at ``zr``) runs along s, in the middle of b. A hip roof needs a > b."""
    ox, oy, ax, ay = frame
    h = b // 2
    lengths = {0: 0, 1: a, -1: h, -2: a - h}
    widths = {0: 0, 1: b, -1: h}
    heights = (z0, ze, zr)
    points = [
        (
            ox + lengths[s] * ax - widths[t] * ay,
            oy + lengths[s] * ay + widths[t] * ax,
            heights[z],
        )
        for s, t, z in (*_CORNERS, *(_HIP_RIDGE if hip else _GABLE_RIDGE))
    ]
    key = (hip, len(pool), tuple(map(pool.get, points)))
    cached = _LOD22S.get(key)
    if cached is None:
        polygons, values = _HIP if hip else _GABLE
        fresh = dict.fromkeys(i for poly in polygons for i in poly if key[2][i] is None)
        index = [pool.get(p, -1) for p in points]
        for i in fresh:
            index[i] = len(pool) + list(fresh).index(i)
        geometry = {
            "type": "Solid",
            "lod": "2.2",
            "boundaries": [[[[index[i] for i in poly]] for poly in polygons]],
            "semantics": _building_semantics(values),
        }
        cached = (list(fresh), orjson.dumps(geometry))
        if len(_LOD22S) < 64:  # a handful of patterns in practice
            _LOD22S[key] = cached
    new, template = cached
    for i in new:
        pool[points[i]] = len(pool)
    return orjson.loads(template)  # type: ignore[no-any-return]


def _building_semantics(values: list[int]) -> dict[str, Any]:
    return {
        "surfaces": [{"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"}],
        "values": [values],
    }


def _lod12_geometry(faces: _Faces) -> dict[str, Any]:
    return {
        "type": "Solid",
        "lod": "1.2",
        "boundaries": [faces],
        "semantics": _building_semantics([0, 2, *([1] * (len(faces) - 2))]),
    }


def _lod12(pool: _Pool, ring: Sequence[tuple[int, int]], z0: int, z1: int) -> dict[str, Any]:
    """An LoD1.2 block: ``ring`` extruded from ``z0`` to ``z1``, with semantic surfaces."""
    if not pool:  # the first solid of a feature: all but the vertices only depend on n
        _add_prism_points(pool, ring, z0, z1)
        n = len(ring)
        return orjson.loads(_LOD12S.get(n) or _lod12_template(n))  # type: ignore[no-any-return]
    return _lod12_geometry(_prism(pool, ring, z0, z1))


def _flat(pool: _Pool, rect: tuple[int, int, int, int], z: int) -> list[list[int]]:
    """One horizontal rectangle (x0, y0, x1, y1), counter-clockwise seen from above."""
    x0, y0, x1, y1 = rect
    put = pool.setdefault
    return [[put(v, len(pool)) for v in ((x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z))]]


def _feature(fid: str, objects: dict[str, Any], pool: _Pool) -> dict[str, Any]:
    return {
        "type": "CityJSONFeature",
        "id": fid,
        "CityObjects": objects,
        "vertices": list(map(list, pool)),
    }


class _City:
    """Generator state: one random stream, the grid and the running counts."""

    def __init__(self, buildings: int, seed: int) -> None:
        self.rng = random.Random(f"tweeling.twin.synth:{seed}")  # str: -1 and 1 differ
        self.target = buildings
        self.made = 0
        self.serial = 0
        self.trees = 0
        self.roads = 0
        self.greens = 0
        self.parts = 0
        self.tree_no = 0

    def counts(self) -> dict[str, int]:
        """The number of CityObjects per type yielded so far."""
        made = (self.made, self.parts, self.roads, self.trees, self.greens)
        return dict(zip(OBJECT_TYPES, made, strict=True))

    def _between(self, lo: int, hi: int, step: int = 100) -> int:
        """A multiple of ``step`` in [lo, hi]."""
        return lo + step * int(self.rng.random() * ((hi - lo) // step + 1))

    def _street(self) -> tuple[int, str, str, int, int, int]:
        r = self.rng.random
        _, widths, function, materials, traffic, speed, lanes = _STREETS[bisect(_STREET_CUM, r())]
        width = widths[int(r() * len(widths))]
        material = materials[int(r() * len(materials))]
        intensity = traffic[0] + int(r() * (traffic[1] - traffic[0] + 1)) if traffic[1] else 0
        if function == "rijbaan lokale weg" and r() < 0.25:
            speed = 50
            intensity *= 2
        return width, function, material, intensity, speed, lanes

    def features(self) -> Iterator[dict[str, Any]]:
        r = self.rng.random
        cols = max(1, math.ceil(math.sqrt(self.target / _BUILDINGS_PER_BLOCK)))
        col_streets = [self._street() for _ in range(cols)]
        col_widths = [self._between(70_000, 130_000) for _ in range(cols)]
        col_ground = [int(r() * 900) - 600 for _ in range(cols)]
        col_x = []
        x = 0
        for c in range(cols):
            x += col_streets[c][0]
            col_x.append(x)
            x += col_widths[c]
        y = 0
        while self.made < self.target:
            row_street = self._street()
            depth = self._between(50_000, 80_000)
            row_ground = int(r() * 900) - 600
            y += row_street[0]
            for c in range(cols):
                if self.made >= self.target:
                    break
                rect = (col_x[c], y, col_x[c] + col_widths[c], y + depth)
                ground = row_ground + col_ground[c]
                yield from self._block(rect, ground, row_street, col_streets[c])
            y += depth

    def _block(
        self,
        rect: tuple[int, int, int, int],
        ground: int,
        south: tuple[int, str, str, int, int, int],
        west: tuple[int, str, str, int, int, int],
    ) -> Iterator[dict[str, Any]]:
        r = self.rng.random
        district = bisect(_DISTRICT_CUM, r())
        kinds = _DISTRICTS[district][1]
        kind_cum = _KIND_CUM[district]
        era = _DISTRICTS[district][2][bisect(_ERA_CUM[district], r())]
        x0, y0, x1, y1 = rect
        width, depth = x1 - x0, y1 - y0
        edges = (
            (x0, y0, 1, 0, 0, width),
            (x1, y0, 0, 1, _CORNER, depth - _CORNER),
            (x1, y1, -1, 0, 0, width),
            (x0, y1, 0, -1, _CORNER, depth - _CORNER),
        )
        for ox, oy, ax, ay, u, end in edges:
            while self.made < self.target:
                kind = kinds[bisect(kind_cum, r())][0]
                lo, hi = kind.width
                w = lo + 100 * int(r() * ((hi - lo) // 100 + 1))
                if u + w > end:
                    w = (end - u) // 100 * 100
                    if w < _MIN_WIDTH:
                        break
                year = min(2024, max(1600, era[0] + int(r() * (era[1] - era[0] + 1))))
                z0 = ground + int(r() * 60) - 30
                self.made += 1
                yield self._building(kind, (ox + u * ax, oy + u * ay, ax, ay), w, z0, year)
                u += w
                if r() < kind.gap:
                    u += self._between(500, 4000)
        yield from self._roads(rect, ground - _KERB, south, west)
        yield from self._trees(rect, ground - _KERB)
        yield from self._greens(rect, ground)

    def _building(self, kind: _Kind, frame: _Frame, w: int, z0: int, year: int) -> dict[str, Any]:
        rng = self.rng
        r = rng.random
        self.serial += 1 + int(r() * 3)
        bid = f"NL.IMBAG.Pand.050310{self.serial:010d}"
        ox, oy, ax, ay = frame
        lo, hi = kind.depth
        d = lo + 100 * int(r() * ((hi - lo) // 100 + 1))
        lo, hi = kind.storeys
        storeys = lo + int(r() * (hi - lo + 1))
        pool: _Pool = {}
        local: list[tuple[int, int]] = [(0, 0), (w, 0), (w, d), (0, d)]
        part: list[tuple[int, int]] | None = None
        roof: tuple[_Frame, int, int, bool] | None = None
        eave = 0
        if kind.pitched and r() < kind.pitched:
            eave = z0 + storeys * kind.storey_h + 200
            if abs(w - d) >= 1000 and r() < 0.3:  # hip, ridge along the long side
                if w > d:
                    roof = (frame, w, d, True)
                else:
                    roof = ((ox + w * ax, oy + w * ay, -ay, ax), d, w, True)
            elif r() < 0.8:  # gable, ridge parallel to the street
                roof = (frame, w, d, False)
            else:
                roof = ((ox + w * ax, oy + w * ay, -ay, ax), d, w, False)
            rise = int(roof[2] / 2 * (0.6 + 0.5 * r()))
            top = eave + rise
            z12 = (eave + top) // 2
            if rise >= 3_500:  # an attic floor
                storeys += 1
        else:
            top = z0 + min(40_000, max(3_000, storeys * kind.storey_h + 300 + int(r() * 600)))
            z12 = top
            if d >= 10_000 and top - z0 >= 5_000 and r() < kind.part:
                d1 = d * (55 + int(r() * 20)) // 100 // 100 * 100
                local = [(0, 0), (w, 0), (w, d1), (0, d1)]
                part = [(0, d1), (w, d1), (w, d), (0, d)]
            elif w >= 6_000 and d >= 9_000 and r() < kind.lshape:
                d1 = d * (45 + int(r() * 25)) // 100 // 100 * 100
                w2 = w * (40 + int(r() * 30)) // 100 // 100 * 100
                if r() < 0.5:
                    local = [(0, 0), (w, 0), (w, d1), (w2, d1), (w2, d), (0, d)]
                else:
                    local = [(0, 0), (w, 0), (w, d), (w - w2, d), (w - w2, d1), (0, d1)]
        geometry = [
            _lod12(pool, [(ox + s * ax - t * ay, oy + s * ay + t * ax) for s, t in local], z0, z12)
        ]
        if roof is not None:
            geometry.append(_lod22(pool, roof[0], roof[1], roof[2], z0, eave, top, roof[3]))
            roof_type = "3200" if roof[3] else "3100"
            dak_type = "slanted"
        else:
            roof_type = "1000"
            dak_type = "horizontal" if part is None else "multiple horizontal"
        units = kind.units_per
        if units > 0:
            units = max(1, storeys * w // units)
        elif units < 0:
            units = 1
        building: dict[str, Any] = {
            "type": "Building",
            "attributes": {
                "identificatie": bid,
                "oorspronkelijkbouwjaar": year,
                "status": _STATUSES[bisect(_STATUS_CUM, r())][0],
                "gebruiksdoel": kind.doel[int(r() * len(kind.doel))],
                "aantal_verblijfsobjecten": units,
                "b3_h_maaiveld": z0 / 1000,
                "b3_h_dak_max": top / 1000,
                "b3_h_dak_50p": z12 / 1000,
                "b3_dak_type": dak_type,
                "measuredHeight": (top - z0) / 1000,
                "storeysAboveGround": storeys,
                "roofType": roof_type,
            },
            "geometry": geometry,
        }
        objects = {bid: building}
        if part is not None:
            pid = f"{bid}-0"
            ptop = z0 + self._between(2_800, min(5_000, top - z0 - 1_000))
            ring = [(ox + s * ax - t * ay, oy + s * ay + t * ax) for s, t in part]
            building["children"] = [pid]
            self.parts += 1
            objects[pid] = {
                "type": "BuildingPart",
                "attributes": {
                    "b3_h_maaiveld": z0 / 1000,
                    "b3_h_dak_max": ptop / 1000,
                    "b3_h_dak_50p": ptop / 1000,
                    "b3_dak_type": "horizontal",
                    "measuredHeight": (ptop - z0) / 1000,
                    "storeysAboveGround": 1,
                    "roofType": "1000",
                },
                "geometry": [_lod12(pool, ring, z0, ptop)],
                "parents": [bid],
            }
        return _feature(bid, objects, pool)

    def _bgt_id(self) -> str:
        return f"G0503.{self.rng.getrandbits(128):032x}"

    def _roads(
        self,
        rect: tuple[int, int, int, int],
        z: int,
        south: tuple[int, str, str, int, int, int],
        west: tuple[int, str, str, int, int, int],
    ) -> Iterator[dict[str, Any]]:
        due = (self.made + _BUILDINGS_PER_ROAD // 2) // _BUILDINGS_PER_ROAD - self.roads
        if due <= 0:
            return
        self.roads += due
        x0, y0, x1, y1 = rect
        # the street south of the block (with the crossing) and the one west of it
        for street, count, along, across, horizontal in (
            (south, (due + 1) // 2, (x0 - west[0], x1), y0, True),
            (west, due // 2, (y0, y1), x0, False),
        ):
            width, function, material, intensity, speed, lanes = street
            if function == "voetpad":
                bands = [(0, width, function)]
            else:
                bands = [
                    (0, _PAVEMENT, "voetpad"),
                    (_PAVEMENT, width - _PAVEMENT, function),
                    (width - _PAVEMENT, width, "voetpad"),
                ]
            names = list(dict.fromkeys(name for _, _, name in bands))
            surfaces = [{"type": "TrafficArea", "function": name} for name in names]
            values = [names.index(name) for _, _, name in bands]
            start, stop = along
            for k in range(count):
                a = start + (stop - start) * k // count
                b = start + (stop - start) * (k + 1) // count
                pool: _Pool = {}
                polygons = []
                for c0, c1, _ in bands:
                    if horizontal:
                        polygons.append(_flat(pool, (a, across - c1, b, across - c0), z))
                    else:
                        polygons.append(_flat(pool, (across - c1, a, across - c0, b), z))
                fid = self._bgt_id()
                road = {
                    "type": "Road",
                    "attributes": {
                        "function": function,
                        "surfaceMaterial": material,
                        "trafficIntensity": intensity,
                        "speedLimit": speed,
                        "lanes": lanes,
                    },
                    "geometry": [
                        {
                            "type": "MultiSurface",
                            "lod": "1",
                            "boundaries": polygons,
                            "semantics": {"surfaces": surfaces, "values": values},
                        }
                    ],
                }
                yield _feature(fid, {fid: road}, pool)

    def _trees(self, rect: tuple[int, int, int, int], z: int) -> Iterator[dict[str, Any]]:
        due = (self.made + _BUILDINGS_PER_TREE // 2) // _BUILDINGS_PER_TREE - self.trees
        if due <= 0:
            return
        self.trees += due
        r = self.rng.random
        x0, y0, x1, y1 = rect
        n_south = (due + 1) // 2
        for k in range(due):
            jitter = int(r() * 2000) - 1000
            if k < n_south:
                x = x0 + (x1 - x0) * (2 * k + 1) // (2 * n_south) + jitter
                y = y0 - _TREE_OFFSET
            else:
                i, n = k - n_south, due - n_south
                x = x0 - _TREE_OFFSET
                y = y0 + (y1 - y0) * (2 * i + 1) // (2 * n) + jitter
            species, heights, crowns, trunks = _TREES[int(r() * len(_TREES))]
            height = heights[0] + int(r() * (heights[1] - heights[0] + 1))  # dm
            crown = min(crowns[0] + int(r() * (crowns[1] - crowns[0] + 1)), height)  # dm
            trunk = trunks[0] + int(r() * (trunks[1] - trunks[0] + 1))  # cm
            half = crown * 50  # mm
            base = z + height * 100 * (25 + int(r() * 15)) // 100
            ring = [(x - half, y - half), (x + half, y - half)]
            ring += [(x + half, y + half), (x - half, y + half)]
            pool: _Pool = {}
            self.tree_no += 1
            fid = f"NL.0503.Boom.{self.tree_no:08d}"
            tree = {
                "type": "SolitaryVegetationObject",
                "attributes": {
                    "species": species,
                    "height": height / 10,
                    "crownDiameter": crown / 10,
                    "trunkDiameter": trunk / 100,
                },
                "geometry": [
                    {
                        "type": "MultiSurface",
                        "lod": "1",
                        "boundaries": _prism(pool, ring, base, z + height * 100),
                    }
                ],
            }
            yield _feature(fid, {fid: tree}, pool)

    def _greens(self, rect: tuple[int, int, int, int], z: int) -> Iterator[dict[str, Any]]:
        due = (self.made + _BUILDINGS_PER_GREEN // 2) // _BUILDINGS_PER_GREEN - self.greens
        if due <= 0:
            return
        self.greens += due
        r = self.rng.random
        x0, y0 = rect[0] + _COURTYARD, rect[1] + _COURTYARD
        x1, y1 = rect[2] - _COURTYARD, rect[3] - _COURTYARD
        for k in range(due):
            pool: _Pool = {}
            if due == 1:  # the whole courtyard, corners cut off
                c = 3_000
                ring = [(x0 + c, y0), (x1 - c, y0), (x1, y0 + c), (x1, y1 - c)]
                ring += [(x1 - c, y1), (x0 + c, y1), (x0, y1 - c), (x0, y0 + c)]
                polygon = [list(range(len(ring)))]
                pool.update(((x, y, z), i) for i, (x, y) in enumerate(ring))
            else:
                a = x0 + (x1 - x0) * k // due
                b = x0 + (x1 - x0) * (k + 1) // due
                polygon = _flat(pool, (a, y0, b, y1), z)
            fid = self._bgt_id()
            green = {
                "type": "PlantCover",
                "attributes": {
                    "class": "groenvoorziening",
                    "averageHeight": (3 + int(r() * 78)) / 10,
                },
                "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": [polygon]}],
            }
            yield _feature(fid, {fid: green}, pool)
