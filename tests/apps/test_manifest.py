"""The app manifest: a valid one loads, every kind of mistake is named with its place, and the
published JSON Schema accepts what the model accepts (checked with jsonschema-rs)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from tests.conftest import ROOT
from tweeling.apps.manifest import MANIFEST, load_manifest, manifest_schema, parse_manifest
from tweeling.errors import InputFileError

GOOD = """
id = "solar-potential"
name = "Solar potential"
version = "1.0.0"
publisher = "Tweeling reference apps"
summary = "Annual irradiation and yield of every roof"
use_cases = ["energy", "climate-adaptation"]
licence = "EUPL-1.2"
personal_data = false
entry_point = "solar_potential.app:run"

[inputs]
crs = ["EPSG:7415"]

[[inputs.layers]]
layer = "buildings"
object_types = ["Building", "BuildingPart"]
attributes = ["measuredHeight"]
min_completeness = 0.9
min_lod = "1.2"

[parameters]
calibrated = ["efficiency"]

[parameters.schema]
type = "object"

[parameters.schema.properties.efficiency]
type = "number"
minimum = 0
maximum = 1
default = 0.2

[[outputs]]
kind = "attribute"
layer = "buildings"
name = "annual_irradiation"
unit = "kWh/m2/a"
range = [0, 1500]

[[outputs]]
kind = "indicator"
name = "total_yield"
unit = "MWh/a"

[resources]
cpu = 1
memory_mb = 2048
max_runtime_s = 900
"""


def _data(**changes: Any) -> dict[str, Any]:
    data = tomllib.loads(GOOD)
    data.update(changes)
    return data


def test_a_valid_manifest_loads(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(GOOD)
    m = load_manifest(tmp_path)
    assert (m.id, m.version, m.licence) == ("solar-potential", "1.0.0", "EUPL-1.2")
    assert [u.value for u in m.use_cases] == ["energy", "climate-adaptation"]
    assert m.parameters.defaults() == {"efficiency": 0.2}
    assert m.inputs.layers[0].min_completeness == 0.9
    assert m.resources.memory_mb == 2048 and not m.resources.gpu


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "Solar Potential"}, "id: use lowercase letters"),
        ({"version": "1.0"}, "version: '1.0' is not a semantic version"),
        ({"licence": "Public Domain-ish"}, "licence:"),
        ({"licence": "MIT AND"}, "licence:"),
        ({"use_cases": ["fun"]}, "use_cases.0:"),
        ({"use_cases": []}, "use_cases:"),
        ({"entry_point": "app.run"}, "entry_point: give module:function"),
        ({"outputs": []}, "outputs:"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        (
            {"outputs": [{"kind": "attribute", "name": "x", "unit": "m"}]},
            "needs the layer it is set on",
        ),
        (
            {"outputs": [{"kind": "indicator", "name": "x", "range": [5, 1]}]},
            "range goes from high to low",
        ),
        (
            {"outputs": [{"kind": "indicator", "name": "x"}, {"kind": "indicator", "name": "x"}]},
            "outputs named twice: x",
        ),
        (
            {"parameters": {"calibrated": ["nope"], "schema": {"type": "object"}}},
            "calibrated parameter 'nope' is not in parameters.schema",
        ),
        (
            {"parameters": {"schema": {"type": "object", "properties": {"a": {"type": "number"}}}}},
            "parameter 'a' needs a default",
        ),
        ({"resources": {"memory_mb": -1}}, "resources.memory_mb:"),
    ],
)
def test_mistakes_are_named_with_their_place(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InputFileError, match=r"tweeling-app\.toml: ") as caught:
        parse_manifest(_data(**changes))
    assert message in str(caught.value)


def test_licences_follow_spdx() -> None:
    assert parse_manifest(_data(licence="mit")).licence == "MIT"
    assert parse_manifest(_data(licence="Apache-2.0 OR MIT")).licence == "Apache-2.0 OR MIT"
    # a commercial app names its own licence the way SPDX allows
    assert parse_manifest(_data(licence="LicenseRef-Acme-1")).licence == "LicenseRef-Acme-1"
    with pytest.raises(InputFileError, match="not on the SPDX licence list: Acme-1"):
        parse_manifest(_data(licence="Acme-1"))


def test_missing_and_broken_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"no tweeling-app\.toml here"):
        load_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text('id = "x"\nname = ')
    with pytest.raises(InputFileError, match="not valid TOML"):
        load_manifest(tmp_path)


def test_published_schema_is_current_and_agrees_with_the_model() -> None:
    published = ROOT / "docs" / "schemas" / "tweeling-app.schema.json"
    assert json.loads(published.read_text()) == manifest_schema(), (
        "docs/schemas/tweeling-app.schema.json is stale: "
        "python -m tweeling.apps.manifest > docs/schemas/tweeling-app.schema.json"
    )
    validator = jsonschema_rs.validator_for(manifest_schema())
    assert validator.is_valid(_data())
    for changes in ({"use_cases": ["fun"]}, {"colour": "red"}, {"outputs": []}):
        assert not validator.is_valid(_data(**changes)), changes
