"""``tweeling app new NAME``: a small app that works on any twin with buildings, and its tests.

The scaffold computes each building's footprint area (m²) and flags the buildings larger than
a threshold the municipality calibrates; it shows the whole contract — manifest, inputs,
parameters, progress, per-object outputs, an indicator — in about forty lines.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import tomli_w

from tweeling.apps.manifest import MANIFEST, parse_manifest
from tweeling.errors import Conflict, InvalidInput


def _manifest(app_id: str, title: str, module: str, publisher: str) -> dict[str, Any]:
    """The scaffold's manifest as data; written out by a TOML writer, so any publisher name
    comes out quoted and escaped as TOML requires."""
    return {
        "id": app_id,
        "name": title,
        "version": "0.1.0",
        "publisher": publisher,
        "summary": "Footprint area of every building, and which ones are larger than a threshold.",
        "description": (
            "Computes the area of each building's footprint in square metres (in the twin's "
            "projected\nCRS) and flags the buildings whose footprint exceeds `large_m2`, which "
            "each municipality sets.\n"
        ),
        "use_cases": ["housing"],
        "licence": "EUPL-1.2",
        "personal_data": False,
        "entry_point": f"{module}.app:run",
        "inputs": {
            "layers": [
                {
                    "layer": "buildings",
                    "object_types": ["Building"],
                    "attributes": [],
                    "geometry": False,
                }
            ]
        },
        "parameters": {
            "calibrated": ["large_m2"],
            "schema": {
                "type": "object",
                "properties": {
                    "large_m2": {
                        "type": "number",
                        "minimum": 0,
                        "default": 500,
                        "description": "footprint area (m²) from which a building counts as large",
                    }
                },
            },
        },
        "outputs": [
            {
                "kind": "attribute",
                "name": "footprint_m2",
                "layer": "buildings",
                "type": "number",
                "unit": "m2",
                "range": [0, 1000000],
                "description": "area of the building's footprint",
            },
            {
                "kind": "attribute",
                "name": "large",
                "layer": "buildings",
                "type": "boolean",
                "description": "footprint area at least large_m2",
            },
            {
                "kind": "indicator",
                "name": "large_count",
                "type": "integer",
                "description": "number of large buildings",
            },
        ],
        "resources": {"cpu": 1, "memory_mb": 256, "max_runtime_s": 120},
    }


_APP = '''\
"""{title}: footprint area per building, and the large ones."""

from __future__ import annotations

from typing import Any

from tweeling.sdk import Context, Inputs, Outputs


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    buildings = inputs.layer("buildings")
    threshold = float(parameters["large_m2"])
    areas = [shape.area if shape is not None else None for shape in buildings.footprints()]
    context.progress(0.8, f"measured {{len(areas)}} footprints")
    large = [area is not None and area >= threshold for area in areas]
    outputs = Outputs()
    outputs.attribute("footprint_m2", buildings.ids, areas)
    outputs.attribute("large", buildings.ids, large)
    outputs.indicator("large_count", sum(large))
    context.log(f"{{sum(large)}} of {{len(large)}} buildings are {{threshold}} m2 or more")
    return outputs
'''

_TEST = '''\
"""Tests of {title}, run with pytest from the app's folder."""

from __future__ import annotations

from pathlib import Path

from tweeling.sdk import run_local, write_test_inputs

from {module}.app import run


def test_areas_and_threshold(tmp_path: Path) -> None:
    inputs = write_test_inputs(
        tmp_path / "inputs",
        {{
            "buildings": [
                {{"id": "small", "footprint": [(0, 0), (10, 0), (10, 10), (0, 10)]}},
                {{"id": "large", "footprint": [(0, 0), (40, 0), (40, 20), (0, 20)]}},
            ]
        }},
    )
    out = run_local(run, inputs, {{"large_m2": 500}}, tmp_path / "work")
    assert out.attributes["footprint_m2"] == {{"small": 100.0, "large": 800.0}}
    assert out.attributes["large"] == {{"small": False, "large": True}}
    assert out.indicators["large_count"] == 1
'''

_README = """\
# {title}

A Tweeling digital-twin app, made with `tweeling app new`.

    tweeling app check .                       # validate the manifest and entry point
    python -m pytest tests                     # the app's own tests
    tweeling app run . --twin delft            # run it on a twin, in the sandbox
    tweeling app package . -o {app_id}.twapp --key publisher.pem
"""


def _module_name(app_id: str) -> str:
    return app_id.replace("-", "_")


def _publisher(publisher: str) -> str:
    """The publisher's name as given, or InvalidInput: one line of printable text."""
    name = publisher.strip()
    if not name:
        raise InvalidInput("--publisher: give your organisation's name")
    if not name.isprintable():  # newlines, tabs, control and format characters
        where = next(i for i, c in enumerate(name) if not c.isprintable())
        raise InvalidInput(
            f"--publisher {publisher!r}: character {where + 1} ({name[where]!r}) is not "
            "printable; a publisher's name is one line of text"
        )
    return name


def scaffold(name: str, parent: Path, publisher: str = "My organisation") -> Path:
    """Create ``parent/name`` with a working app; refuses to touch an existing folder, and
    leaves nothing behind when it cannot finish."""
    app_id = name.strip().lower()
    if not re.match(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", app_id) or len(app_id) > 64:
        raise InvalidInput(
            f"app name {name!r}: use lowercase letters and digits in words joined by '-'"
        )
    folder = parent / app_id
    if folder.exists():
        raise Conflict(f"{folder} exists already")
    module = _module_name(app_id)
    title = app_id.replace("-", " ").capitalize()
    manifest = _manifest(app_id, title, module, _publisher(publisher))
    try:  # the manifest the scaffold writes is one its own check accepts
        parse_manifest(manifest, "--publisher")
    except InvalidInput as exc:
        raise InvalidInput(f"tweeling app new {app_id}: {exc}") from None
    values = {"app_id": app_id, "module": module, "title": title}
    files = {
        MANIFEST: tomli_w.dumps(manifest, multiline_strings=True),
        f"{module}/__init__.py": f'"""{title}."""\n',
        f"{module}/app.py": _APP.format(**values),
        "tests/test_app.py": _TEST.format(**values),
        "README.md": _README.format(**values),
    }
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{app_id}-", dir=parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it private; an app folder is an ordinary one
        staging.rename(folder)  # all files at once; fails if the folder appeared meanwhile
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if folder.exists():
            raise Conflict(f"{folder} exists already") from None
        raise InvalidInput(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder
