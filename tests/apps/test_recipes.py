"""Recipes: steps ordered by what they read and produce, run through the runtime, cached
when unchanged, and proved by one PROV chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from prov.model import ProvDocument

from tweeling.apps import packages
from tweeling.apps.recipes import load_recipe, order_steps, parse_recipe
from tweeling.apps.runs import Runtime
from tweeling.errors import InputFileError, InvalidInput
from tweeling.services import apps as service
from tweeling.services import recipes

from .conftest import FIXTURES, OPERATOR


@pytest.fixture(scope="module")
def recipe_file(footprints_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recipe")
    path = folder / "volume.toml"
    # written in the "wrong" order: volume reads what footprints produces
    path.write_text(
        f'name = "building volumes"\n\n'
        f'[[steps]]\npath = "{FIXTURES / "volume"}"\n\n'
        f'[[steps]]\npath = "{footprints_app}"\nparameters = {{ large_m2 = 300 }}\n',
        encoding="utf-8",
    )
    return path


def test_steps_run_in_dependency_order(runtime: Runtime, recipe_file: Path) -> None:
    done = recipes.run_recipe(runtime, OPERATOR, "delft", load_recipe(recipe_file), purpose="tests")
    assert done.status == "successful", done.message
    assert [s.app_id for s in done.steps] == ["footprints", "volume"]
    footprints, volume = done.steps
    assert footprints.parameters == {"large_m2": 300}
    assert volume.as_of_seq == footprints.stored_seq  # the second step read the first's results
    oid = next(iter(volume.outputs["attributes"]["volume_m3"]))
    area = footprints.outputs["attributes"]["footprint_m2"][oid]
    assert volume.outputs["attributes"]["volume_m3"][oid] > area  # every building is > 1 m high
    # "why this number?" for a value of the second step names the whole chain
    why = service.explain(runtime.db, OPERATOR, "delft", "current", oid, "volume.volume_m3")
    assert [r.app_id for r in why.chain] == ["footprints", "volume"]


def test_an_unchanged_recipe_comes_from_cache(runtime: Runtime, recipe_file: Path) -> None:
    again = recipes.run_recipe(
        runtime, OPERATOR, "delft", load_recipe(recipe_file), purpose="tests"
    )
    assert again.status == "successful"
    assert all(step.cached_from for step in again.steps)


def test_the_recipe_provenance_is_one_chain(runtime: Runtime, recipe_file: Path) -> None:
    done = recipes.run_recipe(runtime, OPERATOR, "delft", load_recipe(recipe_file), purpose="tests")
    document = done.prov()
    text = document.serialize(format="json")
    reread = ProvDocument.deserialize(content=text, format="json")
    provn = reread.get_provn()
    first, second = done.steps
    assert f"wasInformedBy(run:{second.run_id}, run:{first.run_id}" in provn
    assert "building volumes" in provn


def test_a_failing_step_stops_the_recipe(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f'name = "bad"\n[[steps]]\npath = "{FIXTURES / "misbehaving"}"\n'
        'parameters = { behaviour = "crash" }\n',
        encoding="utf-8",
    )
    done = recipes.run_recipe(runtime, OPERATOR, "delft", load_recipe(path), purpose="tests")
    assert done.status == "failed"
    assert "step 1 (misbehaving) ended crashed" in (done.message or "")


def test_bad_recipes_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="at least one"):
        parse_recipe({"name": "x", "steps": []}, tmp_path)
    with pytest.raises(InputFileError, match=r"steps\[1\]: give either app"):
        parse_recipe({"name": "x", "steps": [{"app": "a", "path": "b"}]}, tmp_path)
    with pytest.raises(InputFileError, match="unknown key"):
        parse_recipe({"name": "x", "steps": [{"app": "a"}], "stepz": 1}, tmp_path)


def test_a_circle_is_refused(footprints_app: Path) -> None:
    volume = packages.from_path(FIXTURES / "volume").manifest
    data = volume.model_dump(by_alias=True)
    data["id"] = "footprints"
    data["outputs"] = [
        {"kind": "attribute", "name": "footprint_m2", "layer": "buildings", "type": "number"}
    ]
    data["inputs"]["layers"][0]["attributes"] = ["volume.volume_m3"]
    from tweeling.apps.manifest import Manifest

    circular = Manifest.model_validate(data)
    step = parse_recipe({"name": "c", "steps": [{"app": "a"}]}, Path(".")).steps[0]
    with pytest.raises(InvalidInput, match="in a circle"):
        order_steps([(step, volume), (step, circular)])
