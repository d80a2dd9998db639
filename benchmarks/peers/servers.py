"""The servers under test, each as gunicorn with 2 uvicorn workers on 127.0.0.1.

pygeoapi runs from its own virtual environment (it needs Python ≥ 3.12), built from PyPI on
first use under benchmarks/out/peers-venv; Tweeling runs from the project's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers.data import BIN, CACHE, OUT, Postgres, sh

PYGEOAPI = "pygeoapi==0.24.*"
PYGEOAPI_VENV = OUT / "peers-venv"
PYGEOAPI_PACKAGES = [
    PYGEOAPI,
    "gunicorn",
    "uvicorn-worker",
    "uvicorn[standard]",  # uvloop and httptools, as Tweeling's own install has them
    "starlette",  # pygeoapi's ASGI app is Starlette, not among its own requirements
    "psycopg2-binary",  # the PostgreSQL provider's driver (postgresql+psycopg2)
    "sqlalchemy",
    "geoalchemy2",
]
WORKERS = 2
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def python312() -> str:
    for candidate in (
        os.environ.get("PYGEOAPI_PYTHON"),
        "/root/.pyenv/versions/3.12.1/bin/python",
        shutil.which("python3.12"),
        shutil.which("python3.13"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("pygeoapi needs Python ≥ 3.12: set PYGEOAPI_PYTHON to one")


def pygeoapi_venv() -> Path:
    """The bin folder of pygeoapi's virtual environment, created when missing."""
    bin_dir = PYGEOAPI_VENV / "bin"
    marker = PYGEOAPI_VENV / ".installed"
    if marker.exists() and marker.read_text() == " ".join(PYGEOAPI_PACKAGES):
        return bin_dir
    print(f"creating pygeoapi's environment in {PYGEOAPI_VENV} (PyPI) …", flush=True)
    shutil.rmtree(PYGEOAPI_VENV, ignore_errors=True)
    sh([python312(), "-m", "venv", PYGEOAPI_VENV])
    sh([bin_dir / "python", "-m", "pip", "install", "--quiet", *PYGEOAPI_PACKAGES])
    marker.write_text(" ".join(PYGEOAPI_PACKAGES))
    return bin_dir


def pygeoapi_version(bin_dir: Path) -> str:
    return sh([bin_dir / "python", "-c", "import pygeoapi; print(pygeoapi.__version__)"]).strip()


def _collection(name: str, table: str, connection: dict[str, Any], bbox: list[float]) -> Any:
    return {
        "type": "collection",
        "title": name,
        "description": f"{name} (Tweeling export)",
        "keywords": ["buildings"],
        "extents": {"spatial": {"bbox": bbox, "crs": CRS84}},
        "providers": [
            {
                "type": "feature",
                "name": "PostgreSQL",
                "data": connection,
                "id_field": "id",
                "table": table,
                "geom_field": "geom",
                # Tweeling gives no numberMatched; counting every match would be extra work.
                "count": False,
            }
        ],
    }


def pygeoapi_config(bin_dir: Path, pg: Postgres, db: str, port: int) -> dict[str, str]:
    """A config for the two tables, its OpenAPI document, and the environment naming them."""
    u = pg.url
    connection = {
        "host": u.host,
        "port": u.port or 5432,
        "dbname": db,
        "user": u.username,
        "password": u.password or "",
        "search_path": ["public"],
    }
    resources = {}
    with pg.connect(db) as conn:
        for name, table in (("buildings", "buildings"), ("buildings_delft", "buildings_delft")):
            row = conn.execute(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                f"FROM (SELECT ST_Extent(geom) AS e FROM {table}) s"
            ).fetchone()
            assert row is not None
            resources[name] = _collection(name, table, connection, [float(v) for v in row])
    url = f"http://127.0.0.1:{port}"
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US"],
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": 10_000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "pygeoapi peer benchmark",
                "description": "The buildings Tweeling serves, for comparison",
                "keywords": ["buildings"],
                "keywords_type": "theme",
                "terms_of_service": "https://creativecommons.org/licenses/by/4.0/",
                "url": "https://pygeoapi.io",
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "benchmark", "url": "https://pygeoapi.io"},
            "contact": {"name": "benchmark"},
        },
        "resources": resources,
    }
    path = CACHE / "pygeoapi-config.yml"  # JSON is YAML
    openapi = CACHE / "pygeoapi-openapi.yml"
    path.write_text(json.dumps(config, indent=2))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(path), "PYGEOAPI_OPENAPI": str(openapi)}
    sh([bin_dir / "pygeoapi", "openapi", "generate", path, "--output-file", openapi], env)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 60) -> tuple[int, Any]:
    """GET as GeoJSON; the status and the parsed body."""
    request = urllib.request.Request(url, headers={"Accept": "application/geo+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")[:500]


@dataclass(frozen=True)
class Peer:
    """One server: how to start it and where its collections are."""

    name: str
    gunicorn: Path
    app: str
    env: dict[str, str]
    city: str  # path of the city's buildings collection
    delft: str  # path of Delft's buildings collection
    landing: str
    port: int
    setup: tuple[str, ...] = ()  # a command to run before each start

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def pygeoapi_peer(bin_dir: Path, pg: Postgres, db: str) -> Peer:
    port = free_port()
    return Peer(
        name="pygeoapi",
        gunicorn=bin_dir / "gunicorn",
        app="pygeoapi.starlette_app:APP",
        env=pygeoapi_config(bin_dir, pg, db, port),
        city="/collections/buildings",
        delft="/collections/buildings_delft",
        landing="/",
        port=port,
    )


def tweeling_peer(name: str, env: dict[str, str]) -> Peer:
    return Peer(
        name=name,
        gunicorn=BIN / "gunicorn",
        app="tweeling.api.asgi:app",
        env=env,
        city="/ogc/city/collections/buildings",
        delft="/ogc/delft/collections/buildings",
        landing="/ogc/city",
        port=free_port(),
        setup=(str(BIN / "tweeling"), "init"),  # Tweeling's schema may have moved on
    )


def gunicorn_command(peer: Peer) -> list[str]:
    options = f"-k uvicorn_worker.UvicornWorker -w {WORKERS} -b 127.0.0.1:{peer.port} --timeout 120"
    return [str(peer.gunicorn), *options.split(), peer.app]


@contextmanager
def serve(peer: Peer) -> Iterator[str]:
    """The server running until the block ends (or fails, or is interrupted)."""
    (CACHE / "logs").mkdir(parents=True, exist_ok=True)
    log_path = CACHE / "logs" / f"{peer.name.replace(' ', '-')}.log"
    command = gunicorn_command(peer)
    if peer.setup:
        sh(list(peer.setup), peer.env)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            command, env=peer.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ready(proc, peer.base + peer.landing, log_path)
        yield peer.base
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        with suppress(OSError):
            if get(url, timeout=5)[0] == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"server not ready at {url} after {seconds:.0f} s; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Graceful shutdown of gunicorn (SIGTERM), then its whole process group if need be."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of this server's own group only
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
