"""An app developer's own tools (``tweeling app new/check/keygen/package``) and the reading
of what a command is handed: app folders, package files, ``name=value`` parameters, recipe
files. None of these touches a twin or the database, so none takes a principal: what is
read here reaches a twin only through the services that take one (apps.install, apps.submit,
store.publish, recipes.run_recipe)."""

from __future__ import annotations

from pathlib import Path

from tweeling.access.keys import public_hex
from tweeling.apps import packages
from tweeling.apps.check import CheckReport as CheckReport
from tweeling.apps.check import check_app as check_app
from tweeling.apps.packages import Package as Package
from tweeling.apps.packages import from_path as from_path
from tweeling.apps.packages import generate_key as generate_key
from tweeling.apps.parameters import parse_assignments as parse_assignments
from tweeling.apps.recipes import Recipe as Recipe
from tweeling.apps.recipes import load_recipe as load_recipe
from tweeling.apps.scaffold import scaffold as scaffold


def read_package(path: Path, key: Path | None = None) -> Package:
    """The package of an app folder (built, signed with ``key`` when given) or of a package
    file; a bad package is named before anything else is done."""
    return packages.from_path(path, packages.load_key(key) if key else None)


def public_key_of(key: Path) -> str:
    """The public key (hex) of a publisher's private key file (PEM)."""
    return public_hex(packages.load_key(key))


def build_package(folder: Path, key: Path | None = None) -> Package:
    """A reproducible package of the app in ``folder``, signed with the publisher's key
    (PEM) when one is given."""
    return packages.build(folder, packages.load_key(key) if key else None)
