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

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from tweeling.twin.synth.city import OBJECT_TYPES, City

__all__ = ["OBJECT_TYPES", "features", "header", "write_cityjsonseq"]

SCALE = (0.001, 0.001, 0.001)
TRANSLATE = (85000.0, 445000.0, 0.0)
REFERENCE_SYSTEM = "https://www.opengis.net/def/crs/EPSG/0/7415"
PROGRESS_EVERY = 1000


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
    return City(buildings, seed).features()


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
    city = City(buildings, seed)
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
