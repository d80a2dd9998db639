"""Browser tests of the Studio: Playwright drives Debian's Chromium against a live server.

Chromium comes from the system-deps step (``/usr/bin/chromium``; Playwright downloads no
browser). Without it these tests skip, unless ``TWEELING_REQUIRE_BROWSER=1`` (CI) makes that
an error. The page's WebGL runs on SwiftShader (no GPU here). Every page a test opens is
watched: a console error (a failed script, a Content-Security-Policy violation) or a failed
request to our own origin fails the test at the end.

The short checks run in ``make test``; the journeys (marked ``journey``) in
``make test-browser``, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.api.live import live_server
from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest
from tweeling.web.studio.layout import manifest

ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _require(what: str) -> None:
    if os.environ.get("TWEELING_REQUIRE_BROWSER"):
        pytest.fail(f"{what} (TWEELING_REQUIRE_BROWSER is set)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        _require("no chromium on this machine (make system-deps installs it)")
    if not manifest():
        _require("the Studio's assets are not built (make assets)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Watched:
    """A browser page and what went wrong on it."""

    page: Any
    base: str
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return response

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now. (Injected
        through the DevTools protocol, which the page's CSP does not govern.)"""
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result
            if v["impact"] in ("serious", "critical")
        ]


def watch(context: Any, base: str) -> Watched:
    page = context.new_page()
    # Generous: CI runs two test workers on two cores, and WebGL is software-rendered here.
    page.set_default_timeout(90_000)
    watched = Watched(page, base)

    def on_console(message: Any) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            watched.problems.append(f"console: {message.text} {where}".strip())

    def on_response(response: Any) -> None:
        if response.url.startswith(base) and response.status >= 500:
            watched.problems.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.problems.append(f"page error: {error}"))
    page.on("response", on_response)
    return watched


@dataclass
class Studio:
    """A live server on a seeded platform: Gemeente Delft with the Delft twin and people who
    sign in with a password."""

    base: str
    db: Database
    browser: Any

    def visitor(self, email: str | None = None) -> Watched:
        """A fresh browser context: anonymous, or signed in as ``email``."""
        context = self.browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
        if email is not None:  # the API's sign-in; the context keeps its session cookie
            answer = context.request.post(
                f"{self.base}/auth/login", data={"email": email, "password": PASSWORD}
            )
            assert answer.ok, answer.text()
        return watch(context, self.base)


def seed(db: Database, samples: Path) -> None:
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="test")
        for email, role in (("planner@delft.nl", "admin"), ("viewer@delft.nl", "viewer")):
            identity.add_member(
                conn, email, "Gemeente Delft", role, actor="test", password=PASSWORD
            )
        delft = identity.get_organisation(conn, "Gemeente Delft").id
    ingest(db, samples / "delft.city.json", "delft", owner_org_id=delft)


@pytest.fixture(scope="module")
def studio(browser: Any, module_db: Database, samples: Path) -> Iterator[Studio]:
    seed(module_db, samples)
    app = create_app(module_db, cookie_secure=False, run_jobs=False)
    with live_server(app) as base:
        yield Studio(base, module_db, browser)
