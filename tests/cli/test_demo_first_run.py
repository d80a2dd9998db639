"""A new user's first run: a fresh clone, no settings, ``tweeling demo`` from the clone's
folder, then ``tweeling serve`` and a browser at ``/``. Checked from outside: the exit
status, the database the demo made (read with SQLAlchemy), the files, the HTTP answers.

The home page's content negotiation is tested on both backends with the API's test client.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update

from tests.store.listing import through_pipeline
from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.services import store
from tweeling.storage.db import Database
from tweeling.storage.schema import app_runs, store_listings, store_versions, twins
from tweeling.twin.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]
TWEELING = str(Path(sys.executable).with_name("tweeling"))
REFERENCE_APPS = {"solar-potential", "sun-hours-and-shade", "heat-stress"}


def _new_user_env() -> dict[str, str]:
    """The environment of someone who has set nothing: no TWEELING_* variable at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEELING_")}
    env["COLUMNS"] = "200"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone of this repository at HEAD: what the user has, and nothing beside it."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    folder = tmp_path / "tweeling"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(folder)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return folder


@pytest.mark.slow
def test_demo_on_a_fresh_clone_as_a_new_user(clone: Path) -> None:
    """The demo from the clone's folder with defaults: every app run succeeds, the store has
    the three reference apps accredited, the state lies in the clone's var/, and a browser
    at / gets the home page. (The command is the environment's installed ``tweeling``:
    inside the sandbox the app workers import the installed package, so the platform must
    be that same one — in CI, an install of this very checkout.)"""
    env = _new_user_env()
    r = subprocess.run(
        [TWEELING, "demo", "--no-serve"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "Traceback" not in r.stderr

    home = clone / "var"
    database = home / "tweeling.db"
    assert database.is_file()  # relative default home, made absolute against the clone
    assert (home / "exports" / "delft-tower.city.json").is_file()
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            loaded = conn.execute(select(twins.c.name, twins.c.public)).all()
            runs = conn.execute(
                select(app_runs.c.app_id, app_runs.c.status, twins.c.name).join(twins)
            ).all()
            listed = conn.execute(
                select(store_listings.c.app_id, store_versions.c.state).join(store_versions)
            ).all()
    finally:
        engine.dispose()
    assert ("delft", True) in loaded  # the real sample, public; no synthetic fallback
    assert "synthetic" not in {name for name, _ in loaded}
    demo_runs = [(app, status) for app, status, twin in runs if twin == "delft"]
    assert {app for app, _ in demo_runs} == {"footprints", "solar-potential"}
    assert len(demo_runs) == 4 and all(status == "successful" for _, status in demo_runs)
    assert {app for app, state in listed if state == "approved"} == REFERENCE_APPS

    search = subprocess.run(
        [TWEELING, "store", "search", "--json"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert search.returncode == 0, search.stderr
    assert orjson.loads(search.stdout)["total"] == 3

    again = subprocess.run(
        [TWEELING, "demo", "--no-serve"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert "already loaded; keeping it" in again.stdout
    assert again.stdout.count("kept") >= 3  # the store's apps kept, not accredited again

    port = _free_port()
    log = clone.parent / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [TWEELING, "serve", "--port", str(port)],
            cwd=clone, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        page = None
        for _ in range(300):  # until it listens (or gives up), not a timing assertion
            if server.poll() is not None:
                break
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", headers={"Accept": "text/html"})
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None, log.read_text(errors="replace")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'href="/studio/twins/delft"' in page.text and 'href="/docs"' in page.text
        for app in REFERENCE_APPS:
            assert f'href="/store/apps/{app}?f=html"' in page.text
        doc = httpx.get(f"http://127.0.0.1:{port}/", headers={"Accept": "application/json"})
        assert doc.json()["title"] == "Tweeling"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_home_page_for_a_browser_and_json_for_a_client(
    db: Database, samples: Path, tmp_path: Path
) -> None:
    with db.begin() as conn:
        identity.bootstrap(conn)
        provider = identity.create_organisation(conn, "Tweeling apps", "provider", actor="t")
        owner = identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
    ingest(db, samples / "delft.city.json", "delft", author="t", owner_org_id=owner.id)
    ingest(db, samples / "delft.city.json", "hidden", author="t", owner_org_id=owner.id)
    with db.begin() as conn:
        conn.execute(update(twins).where(twins.c.name == "delft").values(public=True))
    developer = Principal(0, "dev@tweeling.nl", provider, frozenset({Role.developer}))
    packages.generate_key(tmp_path / "key.pem")
    key = packages.load_key(tmp_path / "key.pem")
    store.publish(db, developer, packages.from_path(ROOT / "apps" / "heat-stress", key))
    through_pipeline(db, "heat-stress@0.1.0")  # its accreditation is not the point here
    store.publish(db, developer, packages.from_path(ROOT / "apps" / "solar-potential", key))

    with TestClient(create_app(db, run_jobs=False)) as client:
        browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        page = client.get("/", headers=browser)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert 'href="/studio/twins/delft"' in html  # the twin in the Studio's viewer
        assert "hidden" not in html  # a twin the visitor may not see is not named
        assert 'href="/store/search?f=html"' in html and 'href="/docs"' in html
        assert "Tweelingen" in html and "Geaccrediteerde apps per toepassing" in html  # Dutch
        assert 'href="/store/apps/heat-stress?f=html"' in html
        assert "use_case=climate-adaptation" in html  # under its use cases, linked to search
        assert "solar-potential" not in html  # a draft is not in the store

        for headers in ({"Accept": "application/json"}, {}):
            doc = client.get("/", headers=headers)
            assert doc.headers["content-type"] == "application/json"
            assert {link["rel"] for link in doc.json()["links"]} >= {
                "twins", "store", "service-doc"
            }  # fmt: skip
        asked = client.get("/", params={"f": "html"})
        assert asked.headers["content-type"].startswith("text/html")
