"""Recipes: a file that chains apps, one's outputs feeding the next (traffic → noise → health).

A recipe is TOML::

    name = "noise and health"

    [[steps]]
    app = "noise"                 # an app installed in the twin …

    [[steps]]
    path = "apps/traffic"         # … or an app folder or package, relative to this file
    parameters = { peak_hour = true }

Steps may be written in any order: a step that reads an attribute ``<app-id>.<output>``
another step produces runs after it (a cycle is refused). Running a recipe runs each step in
that order through the ordinary runtime, so a step whose app, inputs and parameters are
unchanged is answered from the cache, and the recipe's provenance is the chain of its steps.
"""

from __future__ import annotations

import graphlib
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tweeling.apps.manifest import Manifest
from tweeling.apps.outputs import attribute_name
from tweeling.errors import InputFileError, InvalidInput


@dataclass(frozen=True)
class Step:
    app: str | None  # an installed app's id
    path: Path | None  # or an app folder / package file
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.app or str(self.path)


@dataclass(frozen=True)
class Recipe:
    name: str
    steps: list[Step]
    source: dict[str, Any]

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(orjson.dumps(self.source, option=orjson.OPT_SORT_KEYS)).hexdigest()


def load_recipe(path: Path) -> Recipe:
    if not path.is_file():
        raise InputFileError(path, "no such recipe file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not valid TOML: {exc}") from None
    return parse_recipe(data, path.parent, str(path))


def parse_recipe(data: dict[str, Any], base: Path, source: str = "recipe") -> Recipe:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputFileError(source, "name: give the recipe a name")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise InputFileError(source, "steps: a recipe needs at least one [[steps]] entry")
    unknown = set(data) - {"name", "description", "steps"}
    if unknown:
        raise InputFileError(source, f"unknown key(s): {', '.join(sorted(unknown))}")
    steps = []
    for n, raw in enumerate(raw_steps, start=1):
        if not isinstance(raw, dict):
            raise InputFileError(source, f"steps[{n}]: not a table")
        extra = set(raw) - {"app", "path", "parameters"}
        if extra:
            raise InputFileError(source, f"steps[{n}]: unknown key(s) {', '.join(sorted(extra))}")
        app, path = raw.get("app"), raw.get("path")
        if (app is None) == (path is None):
            raise InputFileError(source, f"steps[{n}]: give either app (installed) or path")
        params = raw.get("parameters") or {}
        if not isinstance(params, dict):
            raise InputFileError(source, f"steps[{n}].parameters: not a table")
        steps.append(
            Step(
                str(app) if app is not None else None,
                (base / str(path)).resolve() if path is not None else None,
                params,
            )
        )
    return Recipe(name.strip(), steps, data)


def order_steps(steps: list[tuple[Step, Manifest]]) -> list[tuple[Step, Manifest]]:
    """Steps ordered so that each runs after the steps whose outputs it reads."""
    produced: dict[tuple[str, str], int] = {}
    for index, (_, manifest) in enumerate(steps):
        for output in manifest.outputs:
            if output.kind == "attribute" and output.layer:
                key = (output.layer, attribute_name(manifest.id, output.name))
                if key in produced:
                    raise InvalidInput(
                        f"two steps produce {key[1]!r} on {key[0]}: a recipe step's outputs "
                        "must be its own"
                    )
                produced[key] = index
    graph: graphlib.TopologicalSorter[int] = graphlib.TopologicalSorter()
    for index, (_, manifest) in enumerate(steps):
        needs = {
            produced[(layer.layer, attribute)]
            for layer in manifest.inputs.layers
            for attribute in layer.attributes
            if (layer.layer, attribute) in produced
        }
        needs.discard(index)
        graph.add(index, *sorted(needs))
    try:
        graph.prepare()
    except graphlib.CycleError as exc:
        cycle = " → ".join(steps[i][1].id for i in exc.args[1])
        raise InvalidInput(f"the recipe's steps feed each other in a circle: {cycle}") from None
    order: list[int] = []
    while graph.is_active():
        ready = sorted(graph.get_ready())  # file order among independent steps
        order.extend(ready)
        graph.done(*ready)
    return [steps[i] for i in order]
