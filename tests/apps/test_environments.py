"""Apps carry their own libraries: a toy app that needs a small pure-Python wheel the platform
does not have (inflection) gets it in its environment and uses it in the sandbox; an import
it did not declare fails the run with a message naming it; a requirement that cannot be met
fails the installation, naming it; a manifest that does not pin is refused."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tweeling.apps import environments, packages
from tweeling.apps.manifest import parse_manifest
from tweeling.apps.runs import Runtime
from tweeling.errors import InputFileError, InvalidInput
from tweeling.services import apps as service

from .conftest import OPERATOR

# A small pure-Python wheel on PyPI with no dependencies, kept out of the platform's install.
TOY_LIBRARY = "inflection==0.5.1"

_MANIFEST = """
id = "{id}"
name = "Toy app with a library of its own"
version = "1.0.0"
publisher = "Tweeling tests"
summary = "Imports a library the platform does not have."
use_cases = ["safety"]
licence = "EUPL-1.2"
entry_point = "toy.app:run"
requirements = {requirements}

[[inputs.layers]]
layer = "buildings"
attributes = []
geometry = false

[[outputs]]
kind = "indicator"
name = "name_length"
type = "integer"

[resources]
cpu = 1
memory_mb = 512
max_runtime_s = 60
"""

_APP = """
from tweeling.sdk import Context, Inputs, Outputs


def run(inputs: Inputs, parameters: dict, context: Context) -> Outputs:
    import inflection

    out = Outputs()
    out.indicator("name_length", len(inflection.underscore("SolarPotentialOfRoofs")))
    return out
"""


def _toy(folder: Path, app_id: str, requirements: list[str]) -> Path:
    listed = "[" + ", ".join(f'"{r}"' for r in requirements) + "]"
    (folder / "toy").mkdir(parents=True)
    (folder / "toy" / "__init__.py").write_text("")
    (folder / "toy" / "app.py").write_text(_APP)
    (folder / "tweeling-app.toml").write_text(_MANIFEST.format(id=app_id, requirements=listed))
    return folder


def test_the_toy_library_is_not_part_of_the_platform() -> None:
    assert importlib.util.find_spec("inflection") is None


def test_an_app_runs_in_the_sandbox_with_the_library_it_declares(
    runtime: Runtime, tmp_path: Path
) -> None:
    package = packages.from_path(_toy(tmp_path / "toy", "toy-with-library", [TOY_LIBRARY]))
    run = service.run(runtime, OPERATOR, "delft", package=package, purpose="tests")
    assert run.status == "successful", run.message
    assert run.outputs["indicators"]["name_length"] == len("solar_potential_of_roofs")
    assert "unsandboxed" not in run.flags
    env = environments.location(runtime.envs_dir, [TOY_LIBRARY])
    assert env is not None
    assert (env / "inflection.py").is_file()
    assert (env / environments.LISTING).read_text() == f"{TOY_LIBRARY}\n"
    assert os.stat(env).st_mode & 0o222 == 0  # sealed read-only
    assert os.stat(env / "inflection.py").st_mode & 0o222 == 0


def test_apps_with_the_same_set_share_one_environment(runtime: Runtime, tmp_path: Path) -> None:
    first = service.prepare_environment(
        runtime.envs_dir, packages.from_path(_toy(tmp_path / "a", "toy-a", [TOY_LIBRARY])).manifest
    )
    second = service.prepare_environment(
        runtime.envs_dir, packages.from_path(_toy(tmp_path / "b", "toy-b", [TOY_LIBRARY])).manifest
    )
    assert first is not None
    assert first == second == environments.location(runtime.envs_dir, [TOY_LIBRARY])


def test_an_undeclared_import_fails_the_run_naming_it(runtime: Runtime, tmp_path: Path) -> None:
    package = packages.from_path(_toy(tmp_path / "toy", "toy-without-library", []))
    run = service.run(runtime, OPERATOR, "delft", package=package, purpose="tests")
    assert run.status == "crashed"
    assert run.message is not None
    assert "the app imports 'inflection'" in run.message
    assert "requirements in tweeling-app.toml" in run.message


def test_a_requirement_that_cannot_be_met_fails_the_installation_naming_it(
    runtime: Runtime, tmp_path: Path
) -> None:
    missing = "inflection==0.0.999"
    package = packages.from_path(_toy(tmp_path / "toy", "toy-unmet", [missing]))
    with pytest.raises(InvalidInput, match=r"requirement 'inflection==0\.0\.999' cannot be met"):
        service.install(runtime.db, OPERATOR, "delft", package, {}, envs_dir=runtime.envs_dir)
    assert "toy-unmet" not in {
        a.app_id for a in service.installed_apps(runtime.db, OPERATOR, "delft")
    }
    assert not (runtime.envs_dir / environments.key([missing])).exists()


@pytest.mark.parametrize(
    ("requirement", "problem"),
    [
        ("inflection", "pin each library to one version"),
        ("inflection>=0.5", "pin each library to one version"),
        ("inflection==0.5.*", "pin each library to one version"),
        ("requests[socks]==2.32.0", "pin each library to one version"),
        ("inflection @ https://example.org/inflection.whl", "pin each library to one version"),
        ("not a requirement!", "is not a requirement"),
    ],
)
def test_a_manifest_must_pin_each_library(requirement: str, problem: str) -> None:
    with pytest.raises(InputFileError, match=problem) as raised:
        parse_manifest(
            {
                "id": "toy",
                "name": "Toy",
                "version": "1.0.0",
                "publisher": "Tweeling tests",
                "summary": "toy",
                "use_cases": ["safety"],
                "licence": "EUPL-1.2",
                "entry_point": "toy.app:run",
                "requirements": [requirement],
                "outputs": [{"kind": "indicator", "name": "n", "type": "integer"}],
            }
        )
    assert "requirements" in str(raised.value)


def test_markers_choose_what_this_machine_installs() -> None:
    requirements = [
        "inflection==0.5.1",
        'embreex==4.4.0.post1; platform_machine == "no-such-machine"',
    ]
    assert environments.applicable(requirements) == ["inflection==0.5.1"]
    assert environments.key(requirements) == environments.key(["inflection==0.5.1"])
    assert environments.applicable(['embreex==4.4.0.post1; platform_machine == "x"']) == []
