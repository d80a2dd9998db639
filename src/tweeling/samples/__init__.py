"""The sample city models and the official CityJSON schemas, shipped with the package.

They are part of the product, not of a checkout: the demo loads Delft from here, the
accreditation pipeline builds its reference twin from it, and the tests read the same files.
``README.md`` beside this file gives their sources and licences.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CITIES = HERE / "cities"
SCHEMAS = HERE / "schemas" / "cityjson-2.0.2"


def city(name: str) -> Path:
    """A shipped sample city model by file name, e.g. ``city("delft.city.json")``."""
    path = CITIES / name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in CITIES.glob("*.city.json")))
        raise FileNotFoundError(f"no sample {name!r}; shipped: {known}")
    return path
