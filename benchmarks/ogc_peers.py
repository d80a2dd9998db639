"""OGC API – Features side by side: pygeoapi 0.24 against Tweeling on SQLite and on PostGIS.

    make bench-ogc                          # the 1,000,000-building twin, 15 s per run
    python benchmarks/ogc_peers.py --quick  # 20,000 buildings, 5 s per run: a smoke run

Every server runs alone as gunicorn with 2 uvicorn workers on 127.0.0.1 and serves the same
buildings (same ids, attributes and CRS84 footprints). Five cases — a bbox of exactly 100
buildings, one building by id, a CQL2 attribute filter, a page at offset 10,000, and all 160
buildings of Delft — are first checked on every server (counts, and the same ids where the
answer is fully determined), then timed with wrk (2 threads, 16 connections) after a short
warm-up. Results: a table on the terminal, benchmarks/out/ogc-peers.json and a Markdown table,
benchmarks/out/ogc-peers.md. Data and pygeoapi's environment are cached in benchmarks/out.
PostgreSQL: TWEELING_BENCH_PG_URL when set, else scripts/pg-test-server.sh's local server.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from peers import cases as casebook
from peers import data, report, servers

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # so every server is stopped on the way out


def check_collections(peer: servers.Peer, base: str) -> None:
    """The collections the cases use are there (ids as the server lists them)."""
    for path in (peer.city, peer.delft):
        parent, wanted = path.rsplit("/", 1)
        status, body = servers.get(f"{base}{parent}?f=json")
        ids = [c["id"] for c in body.get("collections", [])] if status == 200 else []
        if wanted not in ids:
            raise SystemExit(f"{peer.name}: no collection {wanted!r} at {base}{parent} ({ids})")


def warm_up(url: str, seconds: float) -> None:
    """Sequential requests (at least one): nothing left queued when the timed run starts."""
    deadline = time.monotonic() + seconds
    servers.get(url)
    while time.monotonic() < deadline:
        servers.get(url)


def run_case(
    case: casebook.Case, peer: servers.Peer, base: str, seconds: int, warmup: int
) -> dict[str, Any]:
    """Check the answer, warm up, then time the case with wrk."""
    ids, problem = casebook.check(case, peer, base)
    result: dict[str, Any] = {"url": case.url(peer, base), "ids": ids}
    if problem:
        print(f"  ERROR {peer.name}, {case.key}: {problem}", flush=True)
        result["error"] = problem
    warm_up(result["url"], warmup)
    result.update(casebook.wrk(result["url"], seconds))
    if result["requests"] == 0:
        result.setdefault("error", f"no request completed in {seconds} s")
    elif result["non_2xx"]:
        result.setdefault("error", f"{result['non_2xx']} non-2xx responses under load")
    print(
        f"  {case.key:7} {result['requests_per_s']:10,.1f} req/s  "
        f"p50 {result['p50_ms']:8.1f} ms  p99 {result['p99_ms']:8.1f} ms"
        + (f"  ({result['error']})" if "error" in result else ""),
        flush=True,
    )
    return result


def measure(
    peer: servers.Peer, cases: list[casebook.Case], seconds: int, warmup: int
) -> dict[str, dict[str, Any]]:
    """Every case on one server, each on a freshly started one: requests a slow case leaves
    queued when wrk stops must not run into the next case's timing."""
    found: dict[str, dict[str, Any]] = {}
    print(f"{peer.name}: {' '.join(servers.gunicorn_command(peer)[1:])}", flush=True)
    for case in cases:
        with servers.serve(peer) as base:
            check_collections(peer, base)
            found[case.key] = run_case(case, peer, base, seconds, warmup)
    return found


def compare_ids(cases: list[casebook.Case], by_server: dict[str, dict[str, Any]]) -> None:
    """Pages of many matches: note where a server's order picked other ids than pygeoapi's."""
    for case in cases:
        reference = by_server[report.BASELINE][case.key]["ids"]
        for name, measured in by_server.items():
            ids = measured[case.key]["ids"]
            if case.ids is None and ids != reference:
                note = f"ids differ from pygeoapi's ({len(set(ids) ^ set(reference))} not in both)"
                print(f"note {case.key}: {name} {note}", flush=True)
                measured[case.key]["note"] = note


def git(*args: str) -> str:
    command = ["git", "-C", str(ROOT), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout


def tweeling_version() -> str:
    """The commit, and a fingerprint of uncommitted changes in src (those are measured too)."""
    head = git("rev-parse", "--short", "HEAD").strip()
    if not git("status", "--porcelain", "src").strip():
        return head
    untracked = git("ls-files", "--others", "--exclude-standard", "src").split()
    changes = git("diff", "HEAD", "--", "src")
    changes += "".join((ROOT / f).read_text(errors="replace") for f in untracked)
    return f"{head} + uncommitted changes in src ({hashlib.sha1(changes.encode()).hexdigest()[:8]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 buildings, 5 s runs")
    parser.add_argument("--buildings", type=int, help="size of the synthetic city")
    parser.add_argument("--seconds", type=int, help="length of each timed wrk run")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)
    buildings = args.buildings or (20_000 if args.quick else 1_000_000)
    seconds = args.seconds or (5 if args.quick else 15)
    warmup = 2 if args.quick else 3
    started, commit = time.perf_counter(), tweeling_version()

    print(f"preparing data: {buildings:,} synthetic buildings and Delft", flush=True)
    bin_dir = servers.pygeoapi_venv()
    ready = data.prepare(buildings)
    cases, facts = casebook.plan(ready.pg, ready.pygeoapi_db)
    print(f"cases chosen: {facts}", flush=True)
    peers = [
        servers.pygeoapi_peer(bin_dir, ready.pg, ready.pygeoapi_db),
        servers.tweeling_peer("Tweeling SQLite", ready.tweeling_envs["sqlite"]),
        servers.tweeling_peer("Tweeling PostGIS", ready.tweeling_envs["postgis"]),
    ]
    by_server = {peer.name: measure(peer, cases, seconds, warmup) for peer in peers}
    compare_ids(cases, by_server)

    for measured in by_server.values():
        for result in measured.values():
            result.pop("ids")
    results = {
        "setup": {
            **facts,
            "synthetic_buildings": buildings,
            "machine": f"{os.cpu_count()} cores (servers, PostgreSQL and wrk share them)",
            "workers": servers.WORKERS,
            "wrk": f"-t2 -c16 -d{seconds}s --timeout 30s, after {warmup} s of sequential "
            "requests, on a freshly started server per case",
            "pygeoapi": servers.pygeoapi_version(bin_dir),
            "tweeling_commit": commit,
            "tweeling_attribute_index": ready.tweeling_indexed,
            "minutes": round((time.perf_counter() - started) / 60, 1),
        },
        "servers": [peer.name for peer in peers],
        "cases": [
            {"key": c.key, "title": c.title, "servers": {n: r[c.key] for n, r in by_server.items()}}
            for c in cases
        ],
    }
    report.write(results, OUT / "ogc-peers.json", OUT / "ogc-peers.md")
    print()
    print(report.text_table(results))
    print()
    print("\n".join(report.summary(results)))
    print(f"\nwritten: {OUT / 'ogc-peers.json'}, {OUT / 'ogc-peers.md'}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; servers stopped")
