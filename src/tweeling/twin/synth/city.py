"""The synthetic city laid out block by block, as a stream of CityJSONFeatures.

A grid of perimeter blocks: buildings along the four edges of each block, then the streets south
and west of it, street trees and courtyard parks, in numbers that keep pace with the buildings.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Iterator
from typing import Any

from tweeling.twin.synth.profiles import (
    DISTRICT_CUM,
    DISTRICTS,
    ERA_CUM,
    KIND_CUM,
    PAVEMENT,
    STATUS_CUM,
    STATUSES,
    STREET_CUM,
    STREETS,
    TREES,
    Kind,
)
from tweeling.twin.synth.shapes import Frame, Pool, flat, lod12, lod22, prism

__all__ = ["OBJECT_TYPES", "City"]

OBJECT_TYPES = ("Building", "BuildingPart", "Road", "SolitaryVegetationObject", "PlantCover")

_BUILDINGS_PER_ROAD = 10
_BUILDINGS_PER_TREE = 5
_BUILDINGS_PER_GREEN = 50
_BUILDINGS_PER_BLOCK = 36  # rough mean, only used to shape the grid
_MIN_WIDTH = 3_000  # narrowest frontage (mm)
_CORNER = 15_000  # side rows keep this clear of the front and back rows (deepest footprint: 14 m)
_COURTYARD = 16_000  # inset of a courtyard park from the block edge
_TREE_OFFSET = 1_500  # trees stand this far from the building line, on the pavement
_KERB = 150  # streets lie this much below the block's ground level


def _feature(fid: str, objects: dict[str, Any], pool: Pool) -> dict[str, Any]:
    return {
        "type": "CityJSONFeature",
        "id": fid,
        "CityObjects": objects,
        "vertices": list(map(list, pool)),
    }


class City:
    """Generator state: one random stream, the grid and the running counts."""

    def __init__(self, buildings: int, seed: int) -> None:
        # A fixed string, not __name__: every city depends on it. A str: -1 and 1 differ.
        self.rng = random.Random(f"tweeling.twin.synth:{seed}")
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
        _, widths, function, materials, traffic, speed, lanes = STREETS[bisect(STREET_CUM, r())]
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
        district = bisect(DISTRICT_CUM, r())
        kinds = DISTRICTS[district][1]
        kind_cum = KIND_CUM[district]
        era = DISTRICTS[district][2][bisect(ERA_CUM[district], r())]
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

    def _building(self, kind: Kind, frame: Frame, w: int, z0: int, year: int) -> dict[str, Any]:
        rng = self.rng
        r = rng.random
        self.serial += 1 + int(r() * 3)
        bid = f"NL.IMBAG.Pand.050310{self.serial:010d}"
        ox, oy, ax, ay = frame
        lo, hi = kind.depth
        d = lo + 100 * int(r() * ((hi - lo) // 100 + 1))
        lo, hi = kind.storeys
        storeys = lo + int(r() * (hi - lo + 1))
        pool: Pool = {}
        local: list[tuple[int, int]] = [(0, 0), (w, 0), (w, d), (0, d)]
        part: list[tuple[int, int]] | None = None
        roof: tuple[Frame, int, int, bool] | None = None
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
            lod12(pool, [(ox + s * ax - t * ay, oy + s * ay + t * ax) for s, t in local], z0, z12)
        ]
        if roof is not None:
            geometry.append(lod22(pool, roof[0], roof[1], roof[2], z0, eave, top, roof[3]))
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
                "status": STATUSES[bisect(STATUS_CUM, r())][0],
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
                "geometry": [lod12(pool, ring, z0, ptop)],
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
                    (0, PAVEMENT, "voetpad"),
                    (PAVEMENT, width - PAVEMENT, function),
                    (width - PAVEMENT, width, "voetpad"),
                ]
            names = list(dict.fromkeys(name for _, _, name in bands))
            surfaces = [{"type": "TrafficArea", "function": name} for name in names]
            values = [names.index(name) for _, _, name in bands]
            start, stop = along
            for k in range(count):
                a = start + (stop - start) * k // count
                b = start + (stop - start) * (k + 1) // count
                pool: Pool = {}
                polygons = []
                for c0, c1, _ in bands:
                    if horizontal:
                        polygons.append(flat(pool, (a, across - c1, b, across - c0), z))
                    else:
                        polygons.append(flat(pool, (across - c1, a, across - c0, b), z))
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
            species, heights, crowns, trunks = TREES[int(r() * len(TREES))]
            height = heights[0] + int(r() * (heights[1] - heights[0] + 1))  # dm
            crown = min(crowns[0] + int(r() * (crowns[1] - crowns[0] + 1)), height)  # dm
            trunk = trunks[0] + int(r() * (trunks[1] - trunks[0] + 1))  # cm
            half = crown * 50  # mm
            base = z + height * 100 * (25 + int(r() * 15)) // 100
            ring = [(x - half, y - half), (x + half, y - half)]
            ring += [(x + half, y + half), (x - half, y + half)]
            pool: Pool = {}
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
                        "boundaries": prism(pool, ring, base, z + height * 100),
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
            pool: Pool = {}
            if due == 1:  # the whole courtyard, corners cut off
                c = 3_000
                ring = [(x0 + c, y0), (x1 - c, y0), (x1, y0 + c), (x1, y1 - c)]
                ring += [(x1 - c, y1), (x0 + c, y1), (x0, y1 - c), (x0, y0 + c)]
                polygon = [list(range(len(ring)))]
                pool.update(((x, y, z), i) for i, (x, y) in enumerate(ring))
            else:
                a = x0 + (x1 - x0) * k // due
                b = x0 + (x1 - x0) * (k + 1) // due
                polygon = flat(pool, (a, y0, b, y1), z)
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
