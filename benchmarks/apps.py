"""App platform benchmarks: what a run costs besides the app's own work.

    make bench-apps                    # 10,000 and 100,000 buildings
    python benchmarks/apps.py --quick  # 2,000 and 10,000

For each synthetic twin (SQLite): preparing the inputs of one layer as GeoParquet alone and
with geometry (CityJSON features + triangle arrays), an end-to-end run of the scaffolded app
(`tweeling app new`) through the sandbox with its results stored as an edit, the same run
answered from the cache, and the sandbox's own start-up cost (a run on an empty layer).
Results go to benchmarks/out/apps.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import OUT, synth  # noqa: E402
from tweeling.access.identity import local_operator  # noqa: E402
from tweeling.apps import packages  # noqa: E402
from tweeling.apps.executors import LocalExecutor  # noqa: E402
from tweeling.apps.inputs import prepare_inputs  # noqa: E402
from tweeling.apps.manifest import parse_manifest  # noqa: E402
from tweeling.apps.runs import Runtime  # noqa: E402
from tweeling.apps.scaffold import scaffold  # noqa: E402
from tweeling.services import apps as service  # noqa: E402
from tweeling.storage.db import Database, open_database  # noqa: E402
from tweeling.twin.ingest import ingest  # noqa: E402
from tweeling.twin.twins import get_scenario, get_twin  # noqa: E402
from tweeling.twin.views import view_of  # noqa: E402

OPERATOR = local_operator("bench")


def _manifest(geometry: bool, layer: str = "buildings") -> Any:
    return parse_manifest(
        {
            "id": "bench",
            "name": "bench",
            "version": "1.0.0",
            "publisher": "bench",
            "summary": "bench",
            "use_cases": ["energy"],
            "licence": "MIT",
            "entry_point": "bench:run",
            "inputs": {
                "layers": [{"layer": layer, "attributes": ["b3_h_dak_max"], "geometry": geometry}]
            },
            "outputs": [{"kind": "indicator", "name": "n"}],
        }
    )


def _prepare(db: Database, geometry: bool, folder: Path) -> dict[str, Any]:
    with db.read() as conn:
        twin = get_twin(conn, "city")
        view = view_of(conn, get_scenario(conn, twin, "current"))
        started = time.perf_counter()
        prepared = prepare_inputs(conn, twin, view, _manifest(geometry), folder)
        seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.iterdir())
    shutil.rmtree(folder)
    objects = prepared.objects["buildings"]
    return {
        "seconds": round(seconds, 2),
        "objects_per_s": round(objects / seconds),
        "megabytes": round(size / 1e6, 1),
    }


def measure(buildings: int, work: Path) -> dict[str, Any]:
    db = open_database(f"sqlite:///{work / f'apps-{buildings}.db'}")
    db.migrate()
    print(f"importing {buildings:,} buildings …", flush=True)
    ingest(db, synth(buildings), "city")
    result: dict[str, Any] = {"buildings": buildings}
    result["prepare_table"] = _prepare(db, False, work / "t")
    result["prepare_with_geometry"] = _prepare(db, True, work / "g")
    app = scaffold("footprints", work / f"src-{buildings}")
    runtime = Runtime(db, LocalExecutor(slots=1), work / "home")
    package = packages.from_path(app)
    try:
        started = time.perf_counter()
        first = service.run(runtime, OPERATOR, "city", package=package, purpose="bench")
        end_to_end = time.perf_counter() - started
        assert first.status == "successful", first.message
        started = time.perf_counter()
        again = service.run(runtime, OPERATOR, "city", package=package, purpose="bench")
        cached = time.perf_counter() - started
        assert again.cached_from == first.run_id
    finally:
        runtime.executor.close()
        db.dispose()
    result["run"] = {
        "end_to_end_s": round(end_to_end, 2),
        "worker_wall_s": first.measured.get("wall_s"),
        "worker_peak_rss_mb": first.measured.get("peak_rss_mb"),
        "objects_per_s": round(buildings / end_to_end),
        "cached_rerun_s": round(cached, 2),
    }
    return result


def sandbox_overhead(work: Path) -> dict[str, Any]:
    """A run of the scaffolded app on a twin with no buildings: the sandbox's fixed cost."""
    db = open_database(f"sqlite:///{work / 'empty.db'}")
    db.migrate()
    ingest(db, synth(1_000), "city")
    from tweeling.twin.scenarios import Changes, create_scenario, edit
    from tweeling.twin.views import iter_objects

    create_scenario(db, "city", "empty")
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "city"), "empty"))
        ids = [
            o.object_id for o in iter_objects(conn, view, layer="buildings", top_level_only=True)
        ]
    edit(db, "city", "empty", Changes(delete=ids), reason="bench: an empty layer")
    app = scaffold("footprints", work / "src-empty")
    runtime = Runtime(db, LocalExecutor(slots=1), work / "home-empty")
    walls = []
    try:
        for k in range(5):
            run = service.run(
                runtime,
                OPERATOR,
                "city",
                scenario="empty",
                package=packages.from_path(app),
                overrides={"large_m2": 100 + k},  # a new cache key each time
                purpose="bench",
            )
            walls.append(run.measured["wall_s"])
    finally:
        runtime.executor.close()
        db.dispose()
    walls.sort()
    return {"worker_wall_s_median": walls[len(walls) // 2], "worker_wall_s_min": walls[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [2_000, 10_000] if args.quick else [10_000, 100_000]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        work = Path(tmp)
        results["sandbox"] = sandbox_overhead(work)
        results["twins"] = [measure(n, work) for n in sizes]
    (OUT / "apps.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
