"""A manifest's parameter schema must be JSON Schema (draft 2020-12) before anything runs.

The oracle is the JSON Schema specification: each broken schema below breaks a rule of the
draft 2020-12 meta-schema or of the specification (a ``pattern`` is an ECMA-262 regular
expression, a ``$ref`` must resolve). ``tweeling app check``, publishing and installing all
refuse it, naming the place in the schema; nothing is stored.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.apps.test_manifest import GOOD
from tests.cli.test_cli import run
from tweeling.apps.check import check_app
from tweeling.apps.manifest import MANIFEST, Manifest, Parameters
from tweeling.apps.parameters import resolve
from tweeling.errors import InputFileError, InvalidInput
from tweeling.storage.db import Database
from tweeling.storage.schema import app_packages

GOOD_PROPERTY = """[parameters.schema.properties.efficiency]
type = "number"
minimum = 0
maximum = 1
default = 0.2
"""
assert GOOD_PROPERTY in GOOD

# (property as TOML, the place the message must name, what it must say there)
BROKEN = {
    "misspelt type": (
        'type = "nmber"\ndefault = 0.2',
        "parameters.schema: properties.efficiency.type",
        '"nmber" is not a JSON Schema type',
    ),
    "type list with a misspelling": (
        'type = ["number", "nul"]\ndefault = 0.2',
        "parameters.schema: properties.efficiency.type",
        "is not a JSON Schema type",
    ),
    "minimum not a number": (
        'type = "number"\nminimum = "zero"\ndefault = 0.2',
        "parameters.schema: properties.efficiency.minimum",
        '"zero" is not of type "number"',
    ),
    "required not an array": (
        'type = "number"\nrequired = "efficiency"\ndefault = 0.2',
        "parameters.schema: properties.efficiency.required",
        'is not of type "array"',
    ),
    "pattern not a regular expression": (
        'type = "string"\npattern = "(unclosed"\ndefault = "x"',
        "parameters.schema: properties.efficiency.pattern",
        'is not a "regex"',
    ),
    "reference to nowhere": (
        '"$ref" = "#/$defs/missing"\ndefault = 0.2',
        "parameters.schema: properties.efficiency.$ref",
        "/$defs/missing",
    ),
    "reference off the machine": (
        '"$ref" = "https://schemas.example.org/efficiency.json"\ndefault = 0.2',
        "parameters.schema: properties.efficiency.$ref",
        "Retrieval is disabled",  # refused, never fetched
    ),
    "default outside its own schema": (
        'type = "number"\nminimum = 0\nmaximum = 1\ndefault = 2',
        "parameters: schema.properties.efficiency.default",
        "2 is greater than the maximum of 1",
    ),
    "TOML date in the schema": (
        'type = "string"\ndefault = 2024-05-01',
        "parameters.schema: properties.efficiency.default",
        "not JSON",
    ),
}


def _broken(case: str) -> str:
    return GOOD.replace(
        GOOD_PROPERTY, f"[parameters.schema.properties.efficiency]\n{BROKEN[case][0]}\n"
    )


def _app(folder: Path, manifest: str) -> Path:
    package = folder / "solar_potential"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("def run(inputs, parameters, context):\n    return None\n")
    (folder / MANIFEST).write_text(manifest, encoding="utf-8")
    return folder


@pytest.mark.parametrize("case", list(BROKEN))
def test_check_names_the_place_in_a_broken_parameter_schema(tmp_path: Path, case: str) -> None:
    _, place, problem = BROKEN[case]
    with pytest.raises(InputFileError) as caught:
        check_app(_app(tmp_path, _broken(case)))
    assert f"{place}: " in caught.value.message and problem in caught.value.message


def _declaring(dialect: str) -> str:
    top = '[parameters.schema]\ntype = "object"'
    return GOOD.replace(top, f'[parameters.schema]\n"$schema" = "{dialect}"\ntype = "object"')


def test_another_draft_is_refused_without_fetching_its_meta_schema(tmp_path: Path) -> None:
    # An unknown $schema would make the validator download it; only draft 2020-12 is read.
    for n, dialect in enumerate(
        ["http://json-schema.org/draft-04/schema#", "http://127.0.0.1:9/m"]
    ):
        expected = re.escape(f"parameters.schema: $schema: '{dialect}'")
        with pytest.raises(InputFileError, match=expected):
            check_app(_app(tmp_path / str(n), _declaring(dialect)))
    draft = _declaring("https://json-schema.org/draft/2020-12/schema")
    assert check_app(_app(tmp_path / "draft", draft)).parameters == ["efficiency"]


def test_the_good_schema_still_passes(tmp_path: Path) -> None:
    assert check_app(_app(tmp_path, GOOD)).parameters == ["efficiency"]


def test_app_check_exits_2_naming_the_place(tmp_path: Path) -> None:
    folder = _app(tmp_path / "app", _broken("misspelt type"))
    r = run(["app", "check", str(folder)], tmp_path / "home")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "parameters.schema: properties.efficiency.type" in r.stderr and "nmber" in r.stderr
    assert "Traceback" not in r.stderr


def _package(manifest: str) -> bytes:
    """A package as a publisher's own tool might make it, without ``tweeling app check``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(MANIFEST, manifest)
        archive.writestr("solar_potential/__init__.py", "")
        archive.writestr(
            "solar_potential/app.py", "def run(inputs, parameters, context):\n    pass\n"
        )
    return buffer.getvalue()


def test_publish_and_install_refuse_it_and_store_nothing(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    package = tmp_path / "broken.twapp"
    package.write_bytes(_package(_broken("misspelt type")))
    home = tmp_path / "home"
    for command in (
        ["store", "publish", str(package)],
        ["app", "install", str(package), "--twin", "x"],
    ):
        r = run(command, home, db_url)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "parameters.schema: properties.efficiency.type" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(app_packages)).scalar_one() == 0


def test_a_stored_manifest_with_a_broken_schema_fails_a_run_cleanly() -> None:
    # Manifests stored before schemas were checked were never validated: a run names the
    # problem as bad input (400, exit 2) instead of failing inside the validator.
    schema = {"type": "object", "properties": {"efficiency": {"type": "nmber", "default": 0.2}}}
    stored = Manifest.model_construct(
        id="old-app", parameters=Parameters.model_construct(schema_=schema, calibrated=[])
    )
    with pytest.raises(
        InvalidInput, match=r"app old-app: parameters\.schema: properties\.efficiency\.type"
    ):
        resolve(stored, {"efficiency": 0.5})
