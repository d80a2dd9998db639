"""Open to other viewers: a page on another origin (another port on loopback, so another
origin to the browser) loads the public Delft twin's 3D Tiles in CesiumJS and its features
with fetch, through CORS, without cookies."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import update

from tests.api.live import live_server
from tests.web.browser.conftest import Studio
from tweeling.storage.schema import twins
from tweeling.web.studio.layout import asset

pytestmark = pytest.mark.journey


def _other_site(base: str) -> FastAPI:
    """A stranger's viewer page: our viewer bundle and the twin's tiles, from ``base``."""
    app = FastAPI()
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Elsewhere</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{base}{asset("viewer.css")}">
<script type="module" src="{base}{asset("viewer.js")}"></script></head>
<body><main><h1>A viewer on another site</h1>
<div id="viewer" style="width:800px;height:500px" data-tiles-loaded="0"
 data-tileset="{base}/ogc/delft/3dtiles/current/tileset.json"></div></main></body></html>"""

    @app.get("/")
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    return app


def test_a_viewer_on_another_origin_loads_the_public_twin(studio: Studio) -> None:
    with studio.db.begin() as conn:
        conn.execute(update(twins).where(twins.c.name == "delft").values(public=True))
    with live_server(_other_site(studio.base)) as elsewhere:
        other = elsewhere.replace("127.0.0.1", "localhost")  # another origin to the browser
        visitor = studio.visitor()
        visitor.page.goto(other + "/")
        page = visitor.page
        page.wait_for_function(
            "() => Number(document.getElementById('viewer').dataset.tilesLoaded) > 0",
            timeout=60_000,
        )
        assert page.locator("#viewer").get_attribute("data-error") is None
        features = page.evaluate(
            """async (url) => {
                const r = await fetch(url, {headers: {Accept: "application/geo+json"}});
                return {ok: r.ok, n: (await r.json()).features.length};
            }""",
            f"{studio.base}/ogc/delft/collections/buildings/items?limit=5",
        )
        assert features == {"ok": True, "n": 5}
        assert visitor.problems == []
