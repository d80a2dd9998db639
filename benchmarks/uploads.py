"""Upload memory benchmark: the server's resident memory while it receives a 1 GB dataset.

    python benchmarks/uploads.py             # a 1 GB body (make bench-uploads)
    python benchmarks/uploads.py --mb 256    # a smaller one

The platform runs as it does in production: uvicorn in its own process over a fresh SQLite
home, on loopback. A client streams the body from a generator (1 MB pieces, never held whole,
chunked: no Content-Length) to ``POST /twins/{twin}/datasets`` as an administrator of the
owning organisation, while a sampler reads the server's RSS (with any child processes) every
10 ms with psutil. The body is a CityJSONSeq file whose first feature is malformed, followed by
padding: the whole gigabyte crosses the upload path (permission, cap, spool to disk) and the
import then stops at that feature, so what is measured is the upload path, not an import of a
gigabyte. Expected: flat, tens of MB above idle. Prints one JSON line, also written to
benchmarks/out/uploads.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
import psutil  # noqa: E402

from tweeling.access import identity  # noqa: E402
from tweeling.api.uploads import spool_folder  # noqa: E402
from tweeling.storage.db import open_database  # noqa: E402
from tweeling.twin.ingest import ingest  # noqa: E402

MB = 1024 * 1024
ORG = "Gemeente Benchmark"
ADMIN = "admin@benchmark.nl"
SEED = {
    "type": "CityJSON",
    "version": "2.0",
    "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
    "transform": {"scale": [0.001, 0.001, 0.001], "translate": [85000, 447000, 0]},
    "CityObjects": {
        "seed": {
            "type": "Building",
            "geometry": [{"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 2, 3]]]}],
        }
    },
    "vertices": [[0, 0, 0], [10000, 0, 0], [10000, 10000, 0], [0, 10000, 0]],
}


def _prepare(home: Path) -> str:
    """A migrated home with one organisation, its administrator's token and a twin."""
    db = open_database(f"sqlite:///{home / 'tweeling.db'}")
    db.migrate()
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, ORG, "municipality", actor="bench")
        identity.add_member(conn, ADMIN, ORG, "admin", actor="bench")
        token = identity.create_token(conn, ADMIN, ORG, actor="bench").secret
        org_id = identity.get_organisation(conn, ORG).id
    seed = home / "seed.city.json"
    seed.write_text(json.dumps(SEED))
    ingest(db, seed, "bench", owner_org_id=org_id)
    db.dispose()
    return token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss(process: psutil.Process) -> tuple[int, int]:
    """The server process's RSS, and that of it with its children (import workers)."""
    own = total = 0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # a child that just ended
            rss = p.memory_info().rss
            own = own or rss
            total += rss
    return own, total


class Sampler(threading.Thread):
    """The server's RSS every 10 ms; the peaks of each phase (process, with children)."""

    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.phase = "idle"
        self.peaks: dict[str, tuple[int, int]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            own, total = _rss(self.process)
            old = self.peaks.get(self.phase, (0, 0))
            self.peaks[self.phase] = (max(old[0], own), max(old[1], total))
            time.sleep(0.01)


def _body(size: int, sampler: Sampler) -> Iterator[bytes]:
    """A CityJSONSeq header, a malformed first feature, then padding up to ``size`` bytes."""
    header = json.dumps({**SEED, "CityObjects": {}, "vertices": []}).encode() + b"\n"
    head = header + b'{"type": "CityJSONFeature", "id": 1}\n'
    yield head
    sent = len(head)
    block = b" " * (MB - 1) + b"\n"
    while sent < size:
        piece = block[: size - sent]
        sent += len(piece)
        yield piece
    sampler.phase = "after the body"  # the server may still be writing or importing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="body size in MB (default 1024)")
    args = parser.parse_args()
    size = args.mb * MB
    with tempfile.TemporaryDirectory(prefix="tweeling-bench-uploads-") as tmp:
        home = Path(tmp)
        token = _prepare(home)
        port = _free_port()
        env = {**os.environ, "TWEELING_HOME": str(home), "TWEELING_MAX_UPLOAD_MB": "4096"}
        env.pop("TWEELING_DATABASE_URL", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tweeling.api.asgi:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            process = psutil.Process(server.pid)
            time.sleep(0.5)
            idle = _rss(process)
            sampler = Sampler(process)
            sampler.start()
            sampler.phase = "upload"
            started = time.perf_counter()
            response = httpx.post(
                f"{base}/twins/bench/datasets",
                content=_body(size, sampler),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/city+json-seq",
                },
                timeout=600,
            )
            seconds = time.perf_counter() - started
            sampler.stop.set()
            sampler.join()
            leftovers = list(spool_folder(home).glob("*"))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a request that never ends holds its shutdown
                server.kill()
                server.wait()
    upload = sampler.peaks.get("upload", idle)
    after = sampler.peaks.get("after the body", upload)
    result = {
        "benchmark": "uploads",
        "body_mb": args.mb,
        "status": response.status_code,
        "answer": response.json().get("message", "")[:160],
        "seconds": round(seconds, 2),
        "mb_per_s": round(args.mb / seconds, 1),
        "idle_rss_mb": round(idle[0] / MB, 1),
        "peak_rss_during_upload_mb": round(upload[0] / MB, 1),
        "peak_above_idle_mb": round((upload[0] - idle[0]) / MB, 1),
        "peak_with_children_during_upload_mb": round(upload[1] / MB, 1),
        # the import that follows the body (it stops at the malformed feature): the server
        # process, and with the import's worker processes
        "peak_rss_after_body_mb": round(after[0] / MB, 1),
        "peak_with_children_after_body_mb": round(after[1] / MB, 1),
        "spool_files_left": len(leftovers),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "uploads.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
