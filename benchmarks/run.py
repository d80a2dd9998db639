"""Twin-core benchmarks: import rate and memory, scenario creation, bounding-box queries.

    make bench                      # full sizes (100k-building import, 1M-building twin)
    python benchmarks/run.py --quick   # small sizes, for a smoke run

PostgreSQL figures are taken when TWEELING_BENCH_PG_URL (or TWEELING_TEST_PG_URL) names a
server with PostGIS. Results go to benchmarks/out/results.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from pyproj import Transformer
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
PY = sys.executable


def synth(buildings: int) -> Path:
    path = OUT / f"city-{buildings}.city.jsonl"
    if not path.exists():
        from tweeling.twin.synth import write_cityjsonseq

        tmp = path.with_suffix(".partial")
        write_cityjsonseq(tmp, buildings, seed=1)
        tmp.rename(path)
    return path


def _memory(p: psutil.Process) -> int:
    """Proportional set size where the OS tells it (forked workers share pages), else RSS."""
    try:
        return int(p.memory_full_info().pss)
    except (psutil.Error, AttributeError):
        return int(p.memory_info().rss)


def _watch_peak_rss(proc: subprocess.Popen[bytes], peak: list[int]) -> None:
    """Peak memory of a process and its children (the import workers), summed."""
    try:
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            for p in [parent, *parent.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += _memory(p)
            peak[0] = max(peak[0], total)
            time.sleep(0.05)
    except psutil.Error:
        pass


_INGEST = """
import json, sys, time
from pathlib import Path
from tweeling.storage.db import open_database
from tweeling.twin.ingest import ingest
db = open_database(sys.argv[1]); db.migrate()
start = time.perf_counter()
report = ingest(db, Path(sys.argv[2]), sys.argv[3])
print(json.dumps({"seconds": time.perf_counter() - start, "counts": report.counts}))
"""


def ingest_run(url: str, path: Path, twin: str) -> dict[str, Any]:
    """One import in a fresh process: rate, and peak memory of it and its workers."""
    proc = subprocess.Popen([PY, "-c", _INGEST, url, str(path), twin], stdout=subprocess.PIPE)
    peak = [0]
    watcher = threading.Thread(target=_watch_peak_rss, args=(proc, peak), daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    watcher.join()
    if proc.returncode:
        raise SystemExit(f"import of {path} failed")
    result = json.loads(out)
    buildings = result["counts"]["Building"]
    return {
        "buildings": buildings,
        "objects": sum(result["counts"].values()),
        "seconds": round(result["seconds"], 2),
        "buildings_per_s": round(buildings / result["seconds"]),
        "peak_memory_mb": round(peak[0] / 2**20),
    }


def fresh_sqlite(name: str) -> str:
    path = OUT / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def fresh_pg(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema},public", schema


def drop_pg(base: str, schema: str) -> None:
    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def scenario_creation(url: str, twin: str, repeats: int = 7) -> float:
    from tweeling.storage.db import open_database
    from tweeling.twin.scenarios import create_scenario

    db = open_database(url)
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        create_scenario(db, twin, f"bench-{uuid.uuid4().hex[:6]}-{i}")
        times.append(time.perf_counter() - start)
    db.dispose()
    return statistics.median(times) * 1000


def bbox_queries(url: str, twin: str, buildings: int, queries: int = 300) -> dict[str, Any]:
    """p50/p99 of bounding-box queries sized to return about 100 buildings."""
    from tweeling.storage.db import open_database
    from tweeling.twin.twins import get_scenario, get_twin
    from tweeling.twin.views import in_bbox, view_of

    db = open_database(url)
    with db.read() as conn:
        lo = conn.execute(
            text(
                "SELECT min(minx), min(miny), max(maxx), max(maxy) FROM city_objects "
                "WHERE layer = 'buildings'"
            )
        ).one()
    x0, y0, x1, y1 = (float(v) for v in lo)
    # a square holding ~100 buildings at the district's mean density
    side = ((x1 - x0) * (y1 - y0) * 100 / buildings) ** 0.5
    to84 = Transformer.from_crs("EPSG:28992", "OGC:CRS84", always_xy=True)
    rng = random.Random(42)
    times: list[float] = []
    counts: list[int] = []
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, twin), "current"))
        cond = db.backend.bbox_source("o")
        for n in range(queries + 20):
            x = rng.uniform(x0, x1 - side)
            y = rng.uniform(y0, y1 - side)
            (a, b), (c, d) = to84.transform([x, x + side], [y, y + side])
            start = time.perf_counter()
            found = in_bbox(conn, view, cond, (a, c, b, d), layer="buildings", limit=10_000)
            elapsed = time.perf_counter() - start
            if n >= 20:  # warm-up excluded
                times.append(elapsed)
                counts.append(len(found))
    db.dispose()
    times.sort()
    return {
        "queries": queries,
        "mean_returned": round(statistics.mean(counts), 1),
        "p50_ms": round(times[len(times) // 2] * 1000, 2),
        "p99_ms": round(times[int(len(times) * 0.99)] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--skip-million", action="store_true", help="skip the 1M-building twin")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [5_000, 10_000, 20_000] if args.quick else [25_000, 50_000, 100_000]
    big = 50_000 if args.quick else 1_000_000
    pg = os.environ.get("TWEELING_BENCH_PG_URL") or os.environ.get("TWEELING_TEST_PG_URL")
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "ingest_sqlite": []}

    for n in sizes:
        print(f"importing {n:,} buildings into SQLite …", flush=True)
        results["ingest_sqlite"].append(ingest_run(fresh_sqlite(f"ingest-{n}"), synth(n), "city"))
    if pg:
        url, schema = fresh_pg(pg)
        try:
            print(f"importing {sizes[-1]:,} buildings into PostgreSQL …", flush=True)
            results["ingest_postgresql"] = ingest_run(url, synth(sizes[-1]), "city")
            results["scenario_ms_postgresql"] = scenario_creation(url, "city")
        finally:
            drop_pg(pg, schema)

    small = 1_000
    url_small = fresh_sqlite("scenario-small")
    ingest_run(url_small, synth(small), "city")
    url_large = f"sqlite:///{OUT / f'ingest-{sizes[-1]}.db'}"  # imported above
    results["scenario_creation_ms"] = {
        f"{small}": round(scenario_creation(url_small, "city"), 2),
        f"{sizes[-1]}": round(scenario_creation(url_large, "city"), 2),
    }

    if not args.skip_million:
        print(f"importing {big:,} buildings for the query benchmark …", flush=True)
        url_big = fresh_sqlite(f"big-{big}")
        results["ingest_big"] = ingest_run(url_big, synth(big), "city")
        results["bbox_sqlite"] = bbox_queries(url_big, "city", big)
        results["bbox_sqlite"]["twin_buildings"] = big

    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
