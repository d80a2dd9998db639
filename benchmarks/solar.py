"""Solar-potential benchmark: sky visibility by ray casting and a year's irradiation of every roof.

    python benchmarks/solar.py          # 1,000, 10,000 and 100,000 buildings (~15 minutes)
    python benchmarks/solar.py --quick  # 1,000 and 10,000

Each district size runs in a fresh process (so its peak memory is its own), on a synthetic twin
(``benchmarks/run.py``'s ``synth``) imported into SQLite:

* inputs: ``prepare_inputs`` with the app's real manifest (table, CityJSON and triangles);
* the app (``apps/solar-potential``) through ``tweeling.sdk.run_local``, timed end to end and
  per stage. The stages come from the real run: the SDK and app functions the app module calls
  (mesh read, ``sample_triangles``, climate, ``Occluder``, ``Occluder.visible``,
  ``annual_irradiation``) are wrapped with timers for that run; the app is not changed. The
  wrapped ``Occluder`` builds its BVH when made (Embree would otherwise build it at the first
  query), so that cost shows as "scene" rather than inside the first ``visible`` call;
* Embree's raw rate on exactly the rays the app cast: after each of the app's ``visible``
  calls, the same origins and directions as float32 arrays made beforehand, and only Embree's
  occlusion query timed, on the same threads (same process, same scene; this time is taken
  out of the app's own figures);
* the numpy fallback engine on a random subset of the same rays, with its agreement with Embree;
* for 10,000 buildings, the same app run through the platform runtime (sandboxed worker, inputs
  prepared, results stored as an edit), with the worker's own measured wall time and memory.

Targets (issue 6): the app's end-to-end visibility rate (sampling, ray set-up and accumulation
included) at least half of Embree's raw rate; all roofs of 10,000 buildings in under 1 minute,
of 100,000 in under 10. They are reported, not asserted. Results go to benchmarks/out/solar.json.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "apps" / "solar-potential"
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(APP))

from run import OUT, synth  # noqa: E402

TARGETS_S = {10_000: 60.0, 100_000: 600.0}
RATIO_TARGET = 0.5
NUMPY_TESTS = 30_000_000  # ray-triangle tests for the numpy engine's sample (a few seconds)


# --- memory and time -------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status", "rb") as handle:
        for line in handle:
            if line.startswith(field.encode() + b":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Set this process's VmHWM back to its current RSS (Linux ≥ 4.0), so the next peak read
    is that of what runs in between."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Seconds and calls per stage, summed over a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: collections.Counter[str] = collections.Counter()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.calls[name] += 1

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)

        return timed


# --- the district ----------------------------------------------------------------------------


def _prepare(db: Any, folder: Path) -> tuple[float, Any]:
    from tweeling.apps.inputs import prepare_inputs
    from tweeling.apps.manifest import load_manifest
    from tweeling.twin.twins import get_scenario, get_twin
    from tweeling.twin.views import view_of

    manifest = load_manifest(APP)
    with db.read() as conn:
        twin = get_twin(conn, "city")
        view = view_of(conn, get_scenario(conn, twin, "current"))
        started = time.perf_counter()
        prepared = prepare_inputs(conn, twin, view, manifest, folder)
        return time.perf_counter() - started, prepared


def describe(folder: Path) -> dict[str, Any]:
    """What the app gets: objects, their LoD, triangles by surface, roof shapes, heights."""
    from tweeling.sdk import Inputs

    layer = Inputs(folder).layer("buildings")
    mesh = layer.mesh()
    lods: collections.Counter[str] = collections.Counter()
    types: collections.Counter[str] = collections.Counter()
    for feature in layer.cityjson():
        for obj in feature["CityObjects"].values():
            types[obj["type"]] += 1
            best = max((str(g.get("lod", "?")) for g in obj.get("geometry", [])), default="none")
            lods[best] += 1
    surfaces = {
        str(k): int(v) for k, v in zip(*np.unique(mesh.surfaces, return_counts=True), strict=True)
    }
    nz = mesh.normals()[:, 2]
    roof = mesh.surfaces == "RoofSurface"
    top = np.full(len(layer.ids), -np.inf)
    bottom = np.full(len(layer.ids), np.inf)
    np.maximum.at(top, mesh.objects, mesh.corners[:, :, 2].max(axis=1))
    np.minimum.at(bottom, mesh.objects, mesh.corners[:, :, 2].min(axis=1))
    height = (top - bottom)[np.isfinite(top)]
    slope = np.degrees(np.arccos(np.clip(nz[roof & (nz < 0.999)], -1, 1)))
    return {
        "objects": dict(types),
        "highest_lod": dict(sorted(lods.items())),
        "triangles": len(mesh),
        "triangles_by_surface": surfaces,
        "roof_triangles_flat": int((roof & (nz >= 0.999)).sum()),
        "roof_triangles_sloped": int((roof & (nz < 0.999)).sum()),
        "roof_slope_deg_median": round(float(np.median(slope)), 1) if len(slope) else None,
        "height_m": {
            "median": round(float(np.median(height)), 1),
            "p90": round(float(np.percentile(height, 90)), 1),
            "max": round(float(height.max()), 1),
        },
    }


def default_parameters() -> dict[str, Any]:
    manifest = tomllib.loads((APP / "tweeling-app.toml").read_text(encoding="utf-8"))
    schema = manifest["parameters"]["schema"]["properties"]
    return {name: spec["default"] for name, spec in schema.items() if "default" in spec}


# --- the app, timed per stage ----------------------------------------------------------------


def run_app(folder: Path, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``run_local`` on the prepared inputs with the app's SDK calls timed, and Embree alone
    timed on each batch of the very rays the app cast (outside the app's own clock)."""
    import solar_potential.app as app

    from tweeling import sdk
    from tweeling.sdk import run_local
    from tweeling.sdk.visibility import SURFACE_OFFSET, Occluder

    clock = Clock()
    captured: dict[str, Any] = {"points": 0, "area": 0.0}
    raw = {"seconds": 0.0, "cpu_s": 0.0, "rays": 0, "blocked": 0, "dense": 0, "sparse": 0}
    raw |= {"outside_s": 0.0, "outside_cpu_s": 0.0}

    class TimedOccluder(Occluder):
        def __init__(self, corners: Any, **kwargs: Any) -> None:
            with clock.stage("scene"):
                super().__init__(corners, **kwargs)
                if self._scene is not None:  # build the BVH now, not at the first query
                    one = np.zeros((1, 3), np.float32)
                    self._scene.run(one, one + np.float32(1), query="OCCLUDED")
            captured["scene"] = self

        def visible(self, points: Any, normals: Any, directions: Any) -> Any:
            with clock.stage("visible"):
                seen = super().visible(points, normals, directions)
            # Embree alone on the same rays, made beforehand as float32 arrays, cast over the
            # same threads the app's call used. All of this is kept out of the app's figures.
            outside_cpu, outside_started = _cpu_s(), time.perf_counter()
            starts = points + SURFACE_OFFSET * normals - self.origin
            facing = (normals @ directions.T) > 1e-9
            dense = facing.mean() > 0.75
            if dense:
                origins = np.repeat(starts.astype(np.float32), len(directions), axis=0)
                rays = np.tile(directions.astype(np.float32), (len(points), 1))
            else:
                p_index, d_index = np.nonzero(facing)
                origins = starts[p_index].astype(np.float32)
                rays = directions[d_index].astype(np.float32)
            cpu, started = _cpu_s(), time.perf_counter()
            blocked = self._cast(origins, rays)
            raw["seconds"] += time.perf_counter() - started
            raw["cpu_s"] += _cpu_s() - cpu
            raw["rays"] += len(origins)
            raw["blocked"] += int(blocked.sum())
            raw["dense" if dense else "sparse"] += 1
            raw["outside_s"] += time.perf_counter() - outside_started
            raw["outside_cpu_s"] += _cpu_s() - outside_cpu
            return seen

    iter_samples, sky_patches = app.iter_samples, app.sky_patches

    def sampling(*args: Any, **kwargs: Any) -> Iterator[Any]:
        batches = iter_samples(*args, **kwargs)
        while True:
            with clock.stage("sampling"):
                batch = next(batches, None)
            if batch is None:
                return
            captured.setdefault("first", batch)  # for the numpy engine's subset
            captured["points"] += len(batch.points)
            captured["area"] += float(batch.area.sum())
            yield batch

    def sky(*args: Any, **kwargs: Any) -> Any:
        with clock.stage("climate"):
            captured["sky"] = sky_patches(*args, **kwargs)
        return captured["sky"]

    patches = [
        mock.patch.object(sdk.Layer, "mesh", clock.wrap("read_mesh", sdk.Layer.mesh)),
        mock.patch.object(sdk.Inputs, "lonlat", clock.wrap("climate", sdk.Inputs.lonlat)),
        mock.patch.object(app, "typical_year", clock.wrap("climate", app.typical_year)),
        mock.patch.object(app, "bin_sun", clock.wrap("climate", app.bin_sun)),
        mock.patch.object(app, "sky_patches", sky),
        mock.patch.object(app, "iter_samples", sampling),
        mock.patch.object(app, "Occluder", TimedOccluder),
        mock.patch.object(
            app, "annual_irradiation", clock.wrap("accumulate", app.annual_irradiation)
        ),
    ]
    rss_before = _status_kb("VmRSS")
    peak_known = _reset_peak()
    cpu = _cpu_s()
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        started = time.perf_counter()
        outputs = run_local(app.run, folder, default_parameters(), workdir)
        total = time.perf_counter() - started - raw["outside_s"]
    cpu = _cpu_s() - cpu - raw["outside_cpu_s"]
    timed = sum(clock.seconds.values())
    stages = {k: round(v, 3) for k, v in clock.seconds.items()}
    stages["rest"] = round(total - timed, 3)  # roof/wall selection, per-building sums, outputs
    result = {
        "seconds": round(total, 2),
        "cpu_s": round(cpu, 2),
        "cpu_per_wall": round(cpu / total, 2),
        "threads": captured["scene"].threads,
        "stages_s": stages,
        "visible_calls": clock.calls["visible"],
        "chunk_points": app._CHUNK,
        "indicators": outputs.indicators,
        "buildings_with_roof": len(outputs.attributes.get("yield_kwh", {})),
        "rss_before_mb": _mb(rss_before),
        "peak_rss_mb": _mb(_status_kb("VmHWM")) if peak_known else None,
    }
    rays = raw["rays"]
    captured["embree_raw"] = {
        "rays_cast": rays,
        "seconds": round(raw["seconds"], 2),
        "rays_per_s": round(rays / raw["seconds"]) if raw["seconds"] else None,
        "cpu_per_wall": round(raw["cpu_s"] / raw["seconds"], 2) if raw["seconds"] else None,
        "blocked_share": round(raw["blocked"] / rays, 3) if rays else None,
        "dense_chunks": raw["dense"],
        "sparse_chunks": raw["sparse"],
    }
    return result, captured


def numpy_engine(captured: dict[str, Any], corners: Any, rays_wanted: int) -> dict[str, Any]:
    """The numpy fallback on a random subset of the app's rays, checked against Embree."""
    from tweeling.sdk.visibility import Occluder

    scene, samples, sky = captured["scene"], captured["first"], captured["sky"]
    rng = np.random.default_rng(1)
    count = min(rays_wanted, len(samples.points) * len(sky))
    pair = rng.choice(len(samples.points) * len(sky), size=count, replace=False)
    point, patch = np.divmod(pair, len(sky))
    origins = samples.points[point] + 0.02 * samples.normals[point]
    directions = sky.directions[patch]
    fallback = Occluder(corners, engine="numpy")
    started = time.perf_counter()
    slow = fallback.occluded(origins, directions)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    fast = scene.occluded(origins, directions)
    embree_s = time.perf_counter() - started
    return {
        "rays": count,
        "triangles": fallback.triangles,
        "seconds": round(seconds, 2),
        "rays_per_s": round(count / seconds, 1),
        "ray_triangle_tests_per_s": round(count * fallback.triangles / seconds),
        "embree_same_rays_s": round(embree_s, 4),
        "agreement_with_embree": round(float((slow == fast).mean()), 4),
    }


def platform_run(db: Any, work: Path) -> dict[str, Any]:
    """The app through the runtime: inputs prepared, sandboxed worker, outputs stored."""
    from tweeling.access.identity import local_operator
    from tweeling.apps import packages
    from tweeling.apps.executors import LocalExecutor
    from tweeling.apps.runs import Runtime
    from tweeling.services import apps as service

    runtime = Runtime(db, LocalExecutor(slots=1), work / "home")
    try:
        package = packages.from_path(APP)
        started = time.perf_counter()
        record = service.run(
            runtime, local_operator("bench"), "city", package=package, purpose="bench"
        )
        seconds = time.perf_counter() - started
    finally:
        runtime.executor.close()
    measured = {k: v for k, v in record.measured.items() if k != "log_tail"}
    return {
        "status": record.status,
        "message": record.message,
        "end_to_end_s": round(seconds, 2),
        "worker": measured,
        "stored_seq": record.stored_seq,
        "flags": record.flags,
    }


def measure(buildings: int, work: Path, *, with_platform: bool) -> dict[str, Any]:
    from tweeling.sdk import Inputs
    from tweeling.storage.db import open_database
    from tweeling.twin.ingest import ingest

    result: dict[str, Any] = {"buildings": buildings}
    source = synth(buildings)
    db = open_database(f"sqlite:///{work / f'solar-{buildings}.db'}")
    db.migrate()
    _log(f"{buildings:,}: importing …")
    started = time.perf_counter()
    ingest(db, source, "city")
    result["ingest_s"] = round(time.perf_counter() - started, 2)
    folder = work / f"inputs-{buildings}"
    _log(f"{buildings:,}: preparing inputs …")
    seconds, prepared = _prepare(db, folder)
    result["prepare_inputs"] = {
        "seconds": round(seconds, 2),
        "objects": prepared.objects["buildings"],
        "megabytes": round(sum(p.stat().st_size for p in folder.iterdir()) / 1e6, 1),
    }
    result["district"] = describe(folder)

    _log(f"{buildings:,}: app (run_local) …")
    app, captured = run_app(folder, work / f"app-{buildings}")
    sky = captured["sky"]
    points = captured["points"]
    app["points"] = points
    app["patches"] = len(sky)
    app["rays"] = points * len(sky)
    app["roof_area_m2"] = round(captured["area"])
    result["app"] = app
    raw = captured["embree_raw"]
    result["embree_raw"] = raw
    stages = app["stages_s"]
    cast = raw["rays_cast"]
    e2e_s = stages.get("sampling", 0) + stages.get("visible", 0) + stages.get("accumulate", 0)
    result["rates"] = {
        "embree_raw_rays_per_s": raw["rays_per_s"],
        "visible_rays_per_s": round(cast / stages["visible"]),
        "end_to_end_rays_per_s": round(cast / e2e_s),
        "end_to_end_ratio": round(raw["seconds"] / e2e_s, 3),
        "ratio_target": RATIO_TARGET,
        "ratio_pass": raw["seconds"] / e2e_s >= RATIO_TARGET,
        "whole_app_rays_per_s": round(cast / app["seconds"]),
        "whole_app_ratio": round(raw["seconds"] / app["seconds"], 3),
        "ray_setup_in_visible_s": round(stages["visible"] - raw["seconds"], 2),
    }
    result["growth"] = {
        "ms_per_building": round(app["seconds"] / buildings * 1000, 3),
        "ns_per_ray": round(app["seconds"] / app["rays"] * 1e9, 2),
        "points_per_building": round(points / buildings, 1),
    }
    target = TARGETS_S.get(buildings)
    if target is not None:
        result["target"] = {
            "seconds": target,
            "app_s": app["seconds"],
            "app_pass": app["seconds"] < target,
            "with_inputs_s": round(app["seconds"] + seconds, 2),
            "with_inputs_pass": app["seconds"] + seconds < target,
        }

    corners = Inputs(folder).layer("buildings").mesh().corners
    wanted = max(20, min(2_000, NUMPY_TESTS // max(1, len(corners))))
    _log(f"{buildings:,}: numpy engine on {wanted:,} rays …")
    result["numpy_engine"] = numpy_engine(captured, corners, wanted)
    del captured, corners

    if with_platform:
        _log(f"{buildings:,}: the same run through the platform runtime …")
        result["platform"] = platform_run(db, work)
        if target is not None:
            result["target"]["platform_s"] = result["platform"]["end_to_end_s"]
            result["target"]["platform_pass"] = result["platform"]["end_to_end_s"] < target
    db.dispose()
    result["process_peak_rss_mb"] = _mb(_status_kb("VmHWM"))
    result["process_max_rss_mb"] = _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return result


def _log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the report ------------------------------------------------------------------------------


def _table(title: str, head: list[str], rows: list[list[Any]]) -> str:
    lines = [f"\n### {title}\n", "| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|")
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _n(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def report(results: dict[str, Any]) -> str:
    sizes = results["sizes"]
    out = [
        f"Solar-potential benchmark — {results['machine']}; embreex {results['embreex']}, "
        f"numpy {results['numpy']}"
    ]
    out.append(
        _table(
            "District and inputs",
            ["buildings", "objects", "LoD (highest)", "triangles", "roof tri flat/sloped",
             "ingest s", "prepare_inputs s", "inputs MB"],
            [
                [
                    _n(r["buildings"]),
                    _n(sum(r["district"]["objects"].values())),
                    ", ".join(f"{k}: {v:,}" for k, v in r["district"]["highest_lod"].items()),
                    _n(r["district"]["triangles"]),
                    f"{r['district']['roof_triangles_flat']:,} / "
                    f"{r['district']['roof_triangles_sloped']:,}",
                    _n(r["ingest_s"]),
                    _n(r["prepare_inputs"]["seconds"]),
                    _n(r["prepare_inputs"]["megabytes"]),
                ]
                for r in sizes
            ],
        )
    )  # fmt: skip
    stage_names = ["read_mesh", "sampling", "climate", "scene", "visible", "accumulate", "rest"]
    out.append(
        _table(
            "The app (run_local), seconds per stage",
            ["buildings", "points", "rays", *stage_names, "total s", "CPU/wall", "peak RSS MB"],
            [
                [
                    _n(r["buildings"]),
                    _n(r["app"]["points"]),
                    _n(r["app"]["rays"]),
                    *(_n(r["app"]["stages_s"].get(s, 0.0)) for s in stage_names),
                    _n(r["app"]["seconds"]),
                    _n(r["app"]["cpu_per_wall"]),
                    _n(r["app"]["peak_rss_mb"]),
                ]
                for r in sizes
            ],
        )
    )
    out.append(
        _table(
            "Visibility rate (rays/s) — end to end = sampling + visible() + accumulation",
            ["buildings", "rays cast", "Embree raw s", "Embree raw", "visible()", "end to end",
             "ratio e2e/raw", "≥ 0.5", "whole app", "ray set-up s"],
            [
                [
                    _n(r["buildings"]),
                    _n(r["embree_raw"]["rays_cast"]),
                    _n(r["embree_raw"]["seconds"]),
                    f"{r['rates']['embree_raw_rays_per_s'] / 1e6:.2f} M",
                    f"{r['rates']['visible_rays_per_s'] / 1e6:.2f} M",
                    f"{r['rates']['end_to_end_rays_per_s'] / 1e6:.2f} M",
                    _n(r["rates"]["end_to_end_ratio"]),
                    "pass" if r["rates"]["ratio_pass"] else "FAIL",
                    f"{r['rates']['whole_app_rays_per_s'] / 1e6:.2f} M",
                    _n(r["rates"]["ray_setup_in_visible_s"]),
                ]
                for r in sizes
            ],
        )
    )  # fmt: skip
    rows = []
    for r in sizes:
        t = r.get("target")
        if t is None:
            continue
        rows.append(
            [
                _n(r["buildings"]),
                f"< {t['seconds']:.0f}",
                f"{t['app_s']:.1f} ({'pass' if t['app_pass'] else 'FAIL'})",
                f"{t['with_inputs_s']:.1f} ({'pass' if t['with_inputs_pass'] else 'FAIL'})",
                f"{t['platform_s']:.1f} ({'pass' if t['platform_pass'] else 'FAIL'})"
                if "platform_s" in t
                else "—",
            ]
        )
    out.append(
        _table(
            "Targets: annual solar potential of all roofs",
            ["buildings", "target s", "app s", "inputs + app s", "platform run s"],
            rows,
        )
    )
    out.append(
        _table(
            "Growth",
            ["buildings", "points/building", "ms/building", "ns/ray", "process peak RSS MB"],
            [
                [
                    _n(r["buildings"]),
                    _n(r["growth"]["points_per_building"]),
                    _n(r["growth"]["ms_per_building"]),
                    _n(r["growth"]["ns_per_ray"]),
                    _n(r["process_peak_rss_mb"]),
                ]
                for r in sizes
            ],
        )
    )
    out.append(
        _table(
            "numpy fallback engine (random subset of the app's rays)",
            ["buildings", "triangles", "rays", "seconds", "rays/s", "tests/s", "agrees"],
            [
                [
                    _n(r["buildings"]),
                    _n(r["numpy_engine"]["triangles"]),
                    _n(r["numpy_engine"]["rays"]),
                    _n(r["numpy_engine"]["seconds"]),
                    _n(r["numpy_engine"]["rays_per_s"]),
                    f"{r['numpy_engine']['ray_triangle_tests_per_s'] / 1e6:.1f} M",
                    _n(r["numpy_engine"]["agreement_with_embree"]),
                ]
                for r in sizes
            ],
        )
    )
    for r in sizes:
        p = r.get("platform")
        if p is None:
            continue
        worker = p["worker"]
        out.append(
            _table(
                f"Platform run, {r['buildings']:,} buildings (sandbox, results stored)",
                ["status", "end to end s", "worker wall s", "worker CPU s", "worker peak MB",
                 "platform overhead s", "run_local s"],
                [[
                    p["status"], _n(p["end_to_end_s"]), _n(worker.get("wall_s")),
                    _n(worker.get("cpu_s")), _n(worker.get("peak_rss_mb")),
                    _n(round(p["end_to_end_s"] - worker.get("wall_s", 0.0), 2)),
                    _n(r["app"]["seconds"]),
                ]],
            )
        )  # fmt: skip
        if p["status"] != "successful":
            out.append(f"\nplatform run message: {p['message']}")
    return "\n".join(out)


def _one(buildings: int, work: Path, with_platform: bool, result_file: Path) -> None:
    result = measure(buildings, work, with_platform=with_platform)
    result_file.write_text(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 buildings")
    parser.add_argument("--sizes", type=int, nargs="+", help="district sizes (buildings)")
    parser.add_argument(
        "--platform-size", type=int, default=10_000, help="size also run through the runtime"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--platform", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        _one(args.one, args.work, args.platform, args.result)
        return

    OUT.mkdir(parents=True, exist_ok=True)
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    from importlib.metadata import version

    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, {_cpu_model()}",
        "embreex": version("embreex"),
        "numpy": np.__version__,
        "parameters": default_parameters(),
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for n in sizes:
            print(f"{n:,} buildings …", flush=True)
            result_file = Path(tmp) / f"result-{n}.json"
            work = Path(tmp) / f"w-{n}"
            work.mkdir()
            command = [sys.executable, __file__, "--one", str(n), "--work", str(work)]
            command += ["--result", str(result_file)]
            if n == args.platform_size:
                command.append("--platform")
            started = time.perf_counter()
            subprocess.run(command, check=True)
            result = json.loads(result_file.read_text())
            result["wall_s"] = round(time.perf_counter() - started, 1)
            results["sizes"].append(result)
            _release(work)
    (OUT / "solar.json").write_text(json.dumps(results, indent=2))
    print(report(results))
    print(f"\nresults: {OUT / 'solar.json'}")


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _release(work: Path) -> None:
    """Sandboxed runs leave their inputs read-only; make them removable."""
    from tweeling.apps.sandbox import release

    home = work / "home"
    if home.is_dir():
        for run_dir in home.rglob("inputs"):
            release(run_dir.parent)


if __name__ == "__main__":
    main()
