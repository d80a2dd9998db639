"""The whole store path over HTTP, with tokens of real people in real organisations: a
provider publishes a signed package, the market master approves it, a municipality finds it,
reads its product page and fit report, installs it with a calibration (after a test run on
its own data) and reviews it; the provider answers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import as_
from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.storage.db import Database

SOLAR = Path(__file__).resolve().parents[2] / "apps" / "solar-potential"
PROVIDER = "dev@stadslab.nl"


def test_the_whole_store_path(platform: dict[str, str], db: Database, tmp_path: Path) -> None:
    with db.begin() as conn:
        identity.create_organisation(conn, "Stadslab BV", "provider", actor="test")
        identity.add_member(conn, PROVIDER, "Stadslab BV", "developer", actor="test")
        platform[PROVIDER] = identity.create_token(conn, PROVIDER, "Stadslab BV", actor="t").secret
        master = identity.FIRST_ADMIN
        platform[master] = identity.create_token(
            conn, master, identity.MARKET_MASTER, actor="test"
        ).secret
    packages.generate_key(tmp_path / "key.pem")
    archive = packages.from_path(SOLAR, packages.load_key(tmp_path / "key.pem")).archive
    executor = LocalExecutor(slots=1)
    runtime = Runtime(db, executor, tmp_path / "home")
    try:
        with TestClient(create_app(db, runtime=runtime, run_jobs=False)) as client:
            kind = {"Content-Type": "application/vnd.tweeling.app+zip"}
            r = client.post("/store/apps", content=archive, headers=kind)
            assert r.status_code == 401  # anonymous
            r = client.post(
                "/store/apps", content=b"not a zip", headers={**kind, **as_(platform, PROVIDER)}
            )
            assert r.status_code == 400
            r = client.post(
                "/store/apps", content=archive, headers={**kind, **as_(platform, PROVIDER)}
            )
            assert r.status_code == 201, r.text
            assert r.json()["state"] == "submitted"
            assert client.get("/store/search", params={"q": "zonnepanelen"}).json()["total"] == 0

            decision = {"state": "approved", "reason": "intake passed"}
            url = "/store/apps/solar-potential/versions/0.1.0/decisions"
            assert (
                client.post(url, json=decision, headers=as_(platform, PROVIDER)).status_code == 409
            )
            r = client.post(url, json=decision, headers=as_(platform, master))
            assert r.status_code == 200 and r.json()["state"] == "approved"

            found = client.get("/store/search", params={"q": "zonnepanelen"}).json()
            assert found["total"] == 1 and found["hits"][0]["app_id"] == "solar-potential"
            page = client.get("/store/apps/solar-potential").json()
            assert page["current"]["state"] == "approved"
            assert (
                "<strong>annual solar irradiation</strong>" in page["current"]["description_html"]
            )

            html = client.get("/store/search", params={"q": "zon", "f": "html"})
            assert html.headers["content-type"].startswith("text/html")
            assert "Solar potential of roofs and facades" in html.text
            product = client.get("/store/apps/solar-potential", params={"f": "html"}).text
            assert "<strong>annual solar irradiation</strong>" in product  # sanitised Markdown
            assert "Without 3D geometry the app refuses to run" in product  # data needs
            assert "intake passed" in product  # the decision on record

            analyst = as_(platform, "analyst@delft.nl")
            fit = client.get(
                "/store/apps/solar-potential/fit", params={"twin": "delft"}, headers=analyst
            )
            assert fit.status_code == 200 and fit.json()["verdict"] == "green"
            glance = client.get(
                "/store/apps/solar-potential/fit",
                params={"twin": "delft", "f": "html"},
                headers=analyst,
            ).text
            assert "In één oogopslag" in glance and "green" in glance
            hidden = client.get("/store/apps/solar-potential/fit", params={"twin": "delft"})
            assert hidden.status_code == 404  # anonymous may not read Delft's twin

            body = {"twin": "delft", "parameters": {"pv_efficiency": 0.21}}
            assert (
                client.post(
                    "/store/apps/solar-potential/install", json=body, headers=analyst
                ).status_code
                == 403
            )
            r = client.post(
                "/store/apps/solar-potential/install",
                json=body,
                headers=as_(platform, "admin@delft.nl"),
            )
            assert r.status_code == 200, r.text
            assert r.json()["test_run"]["status"] == "successful"
            assert r.json()["installation"]["parameters"] == {"pv_efficiency": 0.21}

            # the installed app is a process of Delft's twin, calibrated for Delft
            run = client.post(
                "/ogc/delft/processes/solar-potential/execution",
                json={"inputs": {"purpose": "roof-top solar map"}},
                headers=analyst,
            )
            assert run.status_code == 200, run.text
            assert len(run.json()["roof_irradiation_kwh_m2"]) == 160

            review = {"rating": 5, "text": "Our roof survey agrees within a few per cent."}
            r = client.post(
                "/store/apps/solar-potential@0.1.0/reviews", json=review, headers=analyst
            )
            assert r.status_code == 201, r.text
            review_id = r.json()["id"]
            r = client.post(
                f"/store/reviews/{review_id}/response",
                json={"text": "Thank you!"},
                headers=as_(platform, PROVIDER),
            )
            assert r.status_code == 200
            reviews = client.get("/store/apps/solar-potential/reviews").json()
            assert reviews["mean_rating"] == 5 and reviews["reviews"][0]["response"] == "Thank you!"
            rotterdam = as_(platform, "admin@rotterdam.nl")
            r = client.post(
                "/store/apps/solar-potential@0.1.0/reviews", json=review, headers=rotterdam
            )
            assert r.status_code == 409  # Rotterdam never ran it
            assert client.get("/store/notices", headers=analyst).json() == {"notices": []}

            # screenshots come out of the signed package
            shots = scaffold("shots", tmp_path)
            png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
            (shots / "screen.png").write_bytes(png)
            (shots / "tweeling-listing.toml").write_text(
                'title = "Shots"\nsummary = "An app with a screenshot."\n'
                'screenshots = ["screen.png"]\n'
            )
            signed = packages.from_path(shots, packages.load_key(tmp_path / "key.pem")).archive
            headers = {**kind, **as_(platform, PROVIDER)}
            assert client.post("/store/apps", content=signed, headers=headers).status_code == 201
            url = "/store/apps/shots/versions/0.1.0/decisions"
            assert client.post(url, json=decision, headers=as_(platform, master)).status_code == 200
            image = client.get("/store/apps/shots/screenshots/screen.png")
            assert image.content == png and image.headers["content-type"] == "image/png"
            assert client.get("/store/apps/shots/screenshots/other.png").status_code == 404
    finally:
        executor.close()
