"""Apps in the store for the store front's tests: a quick scaffolded app that fits Delft
(green, with a calibrated parameter) and one that wants trees Delft lacks (red), published
signed and moved into the store as ``tests/store/listing.py`` does (the accreditation
pipeline itself runs for real in the store's and API's tests; here it would cost minutes)."""

from __future__ import annotations

from pathlib import Path

from tests.store.listing import through_pipeline
from tests.store.people import member
from tweeling.access import identity
from tweeling.access.identity import Role
from tweeling.apps import packages
from tweeling.apps.scaffold import scaffold
from tweeling.services import store
from tweeling.storage.db import Database

TREES = """
[[inputs.layers]]
layer = "vegetation"
object_types = ["SolitaryVegetationObject"]
attributes = ["trunk_diameter_cm"]
min_completeness = 0.8
geometry = false
"""
LISTING = """title = "{title}"
summary = "{summary}"
changelog = "First release."

[[data]]
layer = "{layer}"
if_missing = "{if_missing}"
"""


def _app(folder: Path, name: str, summary: str, layer: str, if_missing: str, extra: str) -> Path:
    app = scaffold(name, folder)
    manifest = app / "tweeling-app.toml"
    manifest.write_text(manifest.read_text().replace("\n[parameters]", extra + "\n[parameters]", 1))
    (app / "tweeling-listing.toml").write_text(
        LISTING.format(
            title=name.replace("-", " ").title(),
            summary=summary,
            layer=layer,
            if_missing=if_missing,
        )
    )
    return app


def stock(db: Database, folder: Path) -> None:
    """``footprints`` (fits Delft) and ``tree-census`` (red on Delft) in the store, listed."""
    with db.begin() as conn:
        identity.create_organisation(conn, "Stadslab BV", "provider", actor="test")
    packages.generate_key(folder / "key.pem")
    key = packages.load_key(folder / "key.pem")
    provider = member(db, "dev@stadslab.nl", "Stadslab BV", Role.developer)
    apps = {
        "footprints": _app(
            folder, "footprints", "Footprint areas of buildings and the large ones.",
            "buildings", "Without buildings there is nothing to measure.", "",
        ),
        "tree-census": _app(
            folder, "tree-census", "Counts the trees of a city by trunk size.",
            "vegetation", "Without trees it cannot count them.", TREES,
        ),
    }  # fmt: skip
    for app_id, path in apps.items():
        store.publish(db, provider, packages.from_path(path, key))
        through_pipeline(db, f"{app_id}@0.1.0")
