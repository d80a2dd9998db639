"""The scaffolded app run end to end on Delft: results stored as attributes, cache, replay,
provenance that the `prov` package reads, "why this number", and the Dask executor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import shapely
from prov.model import ProvDocument

from tweeling.apps import packages, runs
from tweeling.apps.executors import DaskExecutor
from tweeling.apps.provenance import load_json
from tweeling.apps.runs import Runtime
from tweeling.errors import InvalidInput, NotFound
from tweeling.services import apps as service
from tweeling.twin import scenarios
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import iter_objects, view_of

from .conftest import OPERATOR


def _attributes(runtime: Runtime, scenario: str = "current") -> dict[str, dict]:  # type: ignore[type-arg]
    with runtime.db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), scenario))
        return {o.object_id: o.attributes for o in iter_objects(conn, view, layer="buildings")}


@pytest.fixture(scope="module")
def first_run(runtime: Runtime, footprints_app: Path):  # type: ignore[no-untyped-def]
    return service.run(
        runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(footprints_app),
        purpose="tests",
    )


def test_results_are_stored_as_app_attributes(runtime: Runtime, first_run) -> None:  # type: ignore[no-untyped-def]
    assert first_run.status == "successful", first_run.message
    attrs = _attributes(runtime)
    buildings = [a for a in attrs.values() if "footprints.footprint_m2" in a]
    assert len(buildings) == 160 == len(first_run.outputs["attributes"]["footprint_m2"])
    # the stored value is the area of the footprint the twin serves for that building
    with runtime.db.read() as conn:
        from sqlalchemy import text

        oid, wkb = conn.execute(
            text(
                "SELECT object_id, footprint FROM city_objects WHERE layer = 'buildings' "
                "AND valid_to IS NULL AND footprint IS NOT NULL LIMIT 1"
            )
        ).one()
    assert attrs[oid]["footprints.footprint_m2"] == pytest.approx(shapely.from_wkb(bytes(wkb)).area)
    large = sum(a["footprints.large"] for a in buildings)
    assert first_run.outputs["indicators"]["large_count"] == large
    assert first_run.stored_seq is not None


def test_an_identical_run_is_answered_from_cache(
    runtime: Runtime, first_run, footprints_app: Path
) -> None:  # type: ignore[no-untyped-def]
    again = service.run(
        runtime, OPERATOR, "delft", package=packages.from_path(footprints_app), purpose="tests"
    )
    assert again.status == "successful"
    assert again.cached_from == first_run.run_id
    assert again.output_hash == first_run.output_hash
    assert again.stored_seq is None  # the values are there already: no empty edit


def test_replay_gives_identical_hashes(runtime: Runtime, first_run) -> None:  # type: ignore[no-untyped-def]
    result = service.replay(runtime, OPERATOR, first_run.run_id)
    assert result.same_inputs
    assert result.identical
    assert result.replay.cached_from is None  # really run again
    assert result.replay.stored_seq is None


def test_a_nondeterministic_app_fails_replay(runtime: Runtime) -> None:
    from .conftest import MISBEHAVING

    run = service.run(
        runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(MISBEHAVING),
        overrides={"behaviour": "nondeterministic"},
        purpose="tests",
    )
    assert run.status == "successful"
    result = service.replay(runtime, OPERATOR, run.run_id)
    assert result.same_inputs
    assert not result.identical


def test_provenance_loads_with_prov(runtime: Runtime, first_run) -> None:  # type: ignore[no-untyped-def]
    document = service.prov_document(runtime.db, OPERATOR, first_run.run_id)
    again = load_json(first_run.prov)
    assert isinstance(again, ProvDocument)
    provn = document.get_provn()
    assert f"run:{first_run.run_id}" in provn
    reparsed = ProvDocument.deserialize(content=document.serialize(format="json"), format="json")
    assert reparsed == document
    records = {type(r).__name__ for r in document.get_records()}
    assert {"ProvActivity", "ProvAgent", "ProvEntity", "ProvUsage", "ProvGeneration"} <= records
    assert first_run.package_hash in provn
    assert '"large_m2\\":500' in provn  # the parameters used
    assert "tw:Dataset" in provn  # the imported dataset the objects came from


def test_why_this_number(runtime: Runtime, first_run) -> None:  # type: ignore[no-untyped-def]
    oid = next(iter(first_run.outputs["attributes"]["footprint_m2"]))
    why = service.explain(runtime.db, OPERATOR, "delft", "current", oid, "footprints.footprint_m2")
    assert why.run.run_id == first_run.run_id
    assert why.value == first_run.outputs["attributes"]["footprint_m2"][oid]
    assert why.chain[-1].run_id == first_run.run_id
    some = next(k for k in _attributes(runtime)[oid] if not k.startswith("footprints."))
    with pytest.raises(NotFound, match="not stored by an app run"):
        service.explain(runtime.db, OPERATOR, "delft", "current", oid, some)


def test_calibration_and_overrides(runtime: Runtime, footprints_app: Path) -> None:
    package = packages.from_path(footprints_app)
    installed = service.install(runtime.db, OPERATOR, "delft", package, {"large_m2": 50})
    assert installed.parameters == {"large_m2": 50}
    run = service.run(runtime, OPERATOR, "delft", app_id="footprints", purpose="tests")
    assert run.parameters == {"large_m2": 50}
    run = service.run(
        runtime,
        OPERATOR,
        "delft",
        app_id="footprints",
        overrides={"large_m2": 10000},
        purpose="tests",
    )
    assert run.parameters == {"large_m2": 10000}
    assert run.outputs["indicators"]["large_count"] == 0
    with pytest.raises(InvalidInput, match="large_m2"):
        service.install(runtime.db, OPERATOR, "delft", package, {"large_m2": -1})
    with pytest.raises(InvalidInput, match="no parameter 'colour'"):
        service.run(runtime, OPERATOR, "delft", app_id="footprints", overrides={"colour": 1})


def test_a_proposed_scenario_gets_its_own_results(runtime: Runtime, footprints_app: Path) -> None:
    scenarios.create_scenario(runtime.db, "delft", "plan-a")
    with runtime.db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), "plan-a"))
        victim = next(iter_objects(conn, view, layer="buildings", top_level_only=True))
    scenarios.edit(
        runtime.db,
        "delft",
        "plan-a",
        scenarios.Changes(delete=[victim.object_id]),
        reason="demolish",
    )
    run = service.run(
        runtime,
        OPERATOR,
        "delft",
        scenario="plan-a",
        package=packages.from_path(footprints_app),
        overrides={"large_m2": 1},
        purpose="tests",
    )
    assert run.status == "successful"
    assert victim.object_id not in run.outputs["attributes"]["footprint_m2"]
    assert all(
        a.get("footprints.large")
        for a in _attributes(runtime, "plan-a").values()
        if "footprints.large" in a
    )


@pytest.fixture(scope="module")
def dask_runtime(delft_db, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        executor = DaskExecutor(client=client)
        yield Runtime(delft_db, executor, tmp_path_factory.mktemp("dask-home"))
        executor.close()


def test_dask_executor_gives_the_same_results(
    dask_runtime: Runtime, first_run, footprints_app: Path
) -> None:  # type: ignore[no-untyped-def]
    run_id = service.submit(
        dask_runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(footprints_app),
        purpose="tests",
    )
    from tweeling.apps import runs

    record = runs.execute(dask_runtime, run_id, use_cache=False)
    assert record.status == "successful", record.message
    assert record.executor == "dask"
    assert record.output_hash == first_run.output_hash


def test_dask_executor_enforces_limits(dask_runtime: Runtime) -> None:
    from .conftest import MISBEHAVING

    record = service.run(
        dask_runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(MISBEHAVING),
        overrides={"behaviour": "socket"},
        purpose="tests",
    )
    assert record.status == "sandbox-violation"
    assert "network" in (record.message or "")


def _variant(app: Path, target: Path, old: str, new: str) -> Path:
    import shutil

    shutil.copytree(app, target)
    manifest = target / "tweeling-app.toml"
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new, 1))
    return target


def test_manifest_constraints_are_kept_at_run_time(
    runtime: Runtime, footprints_app: Path, tmp_path: Path
) -> None:
    from .conftest import FIXTURES

    foreign = _variant(
        footprints_app,
        tmp_path / "crs",
        "[[inputs.layers]]",
        '[inputs]\ncrs = ["EPSG:4326"]\n\n[[inputs.layers]]',
    )
    with pytest.raises(InvalidInput, match="works in EPSG:4326; twin 'delft' is in EPSG:7415"):
        service.submit(runtime, OPERATOR, "delft", package=packages.from_path(foreign))
    dutch = _variant(
        footprints_app,
        tmp_path / "rd",
        "[[inputs.layers]]",
        '[inputs]\ncrs = ["EPSG:28992"]\n\n[[inputs.layers]]',
    )
    assert service.submit(runtime, OPERATOR, "delft", package=packages.from_path(dutch))

    personal = _variant(
        footprints_app, tmp_path / "pd", "personal_data = false", "personal_data = true"
    )
    with pytest.raises(InvalidInput, match="processes personal data: state the purpose"):
        service.submit(runtime, OPERATOR, "delft", package=packages.from_path(personal))

    sparse = _variant(
        FIXTURES / "volume",
        tmp_path / "sparse",
        '"measuredHeight"]',
        '"measuredHeight", "roof_type"]',
    )
    run = service.run(runtime, OPERATOR, "delft", package=packages.from_path(sparse), purpose="t")
    assert run.status == "successful"
    assert "incomplete-inputs:buildings:0.00<0.90" in run.flags
    assert run.inputs["completeness"] == {"buildings": 0.0}


def test_every_run_on_record_has_a_prov_document_that_loads(runtime: Runtime, first_run) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from .conftest import MISBEHAVING

    failed = service.run(
        runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(MISBEHAVING),
        overrides={"behaviour": "crash"},
        purpose="tests",
    )
    assert failed.status == "crashed"

    from tweeling.storage.schema import app_runs

    with runtime.db.read() as conn:
        rows = conn.execute(select(app_runs.c.run_id, app_runs.c.status, app_runs.c.prov)).all()
    finished = [r for r in rows if r.status not in ("accepted", "running")]
    assert {first_run.run_id, failed.run_id} <= {r.run_id for r in finished}
    for run_id, _status, prov in finished:
        document = load_json(prov if isinstance(prov, dict) else orjson.loads(prov))
        assert f"run:{run_id}" in document.get_provn()


def test_results_appear_in_3d_tiles(runtime: Runtime, first_run) -> None:  # type: ignore[no-untyped-def]
    import struct

    from tweeling.services import tiles

    tileset, _ = tiles.tileset_json(runtime.db, OPERATOR, "delft", "current", None)
    doc = orjson.loads(tileset)
    uris: list[str] = []

    def walk(node: dict) -> None:  # type: ignore[type-arg]
        if "content" in node:
            uris.append(node["content"]["uri"])
        for child in node.get("children", []):
            walk(child)

    walk(doc["root"])
    key = uris[0].removeprefix("tiles/").removesuffix(".glb")
    glb, _ = tiles.tile_content(runtime.db, OPERATOR, "delft", "current", key, None)
    (length,) = struct.unpack_from("<I", glb, 12)
    gltf = orjson.loads(glb[20 : 20 + length])
    schema = gltf["extensions"]["EXT_structural_metadata"]["schema"]
    properties = {name for cls in schema["classes"].values() for name in cls["properties"]}
    assert {"footprints_footprint_m2", "footprints_large"} <= properties


def test_a_synchronous_run_is_never_handed_to_the_job_runner(
    runtime: Runtime, footprints_app: Path
) -> None:
    """A run its caller executes at once is taken at acceptance, so the background job
    runner — which starts every accepted run — cannot start it a second time meanwhile (the
    race behind a failed OGC sync execution while the runner was polling)."""
    package = packages.from_path(footprints_app)
    queued = service.submit(runtime, OPERATOR, "delft", package=package, purpose="tests")
    mine = service.submit(runtime, OPERATOR, "delft", package=package, purpose="tests", claim=True)
    waiting = runs.accepted_runs(runtime.db)
    assert queued in waiting and mine not in waiting
    assert not runs.claim(runtime.db, mine)  # a runner's attempt to take it fails
    done = runs.execute(runtime, mine)
    assert done.status == "successful" and done.run_id == mine
    assert runs.execute(runtime, queued).status == "successful"
