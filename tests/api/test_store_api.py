"""The whole store path over HTTP, with tokens of real people in real organisations: a
provider publishes a signed package and submits it; the market master runs the automated
checks (on the platform's machine) and assigns an accreditor, whose reviewer files the scores
over HTTP; the market master accredits it; a municipality finds it, reads its product page,
accreditation report and fit report, installs it with a calibration (after a test run on its
own data) and reviews it; the provider answers."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import as_
from tests.store.listing import through_pipeline
from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import accreditation, store
from tweeling.storage.db import Database

SOLAR = Path(__file__).resolve().parents[2] / "apps" / "solar-potential"
PROVIDER = "dev@stadslab.nl"
REVIEWER = "beoordelaar@keurmerk.nl"
REVIEW = Path(__file__).resolve().parents[1] / "store" / "fixtures" / "reference-review.toml"


def test_the_whole_store_path(
    platform: dict[str, str], db: Database, samples: Path, tmp_path: Path
) -> None:
    with db.begin() as conn:
        identity.create_organisation(conn, "Stadslab BV", "provider", actor="test")
        identity.add_member(conn, PROVIDER, "Stadslab BV", "developer", actor="test")
        platform[PROVIDER] = identity.create_token(conn, PROVIDER, "Stadslab BV", actor="t").secret
        master = identity.FIRST_ADMIN
        platform[master] = identity.create_token(
            conn, master, identity.MARKET_MASTER, actor="test"
        ).secret
        identity.create_organisation(conn, "Keurmerk Instituut", "accreditor", actor="test")
        identity.add_member(conn, REVIEWER, "Keurmerk Instituut", "reviewer", actor="test")
        platform[REVIEWER] = identity.create_token(
            conn, REVIEWER, "Keurmerk Instituut", actor="t"
        ).secret
        admin = identity.authenticate_token(conn, platform[master])
    public = packages.generate_key(tmp_path / "key.pem")
    store.register_key(db, admin, public, "release key", "Stadslab BV")
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
            assert r.json()["state"] == "draft"
            assert client.get("/store/search", params={"q": "zonnepanelen"}).json()["total"] == 0

            base = "/store/apps/solar-potential/versions/0.1.0"
            decision = {"state": "approved", "reason": "intake passed"}
            for who in (PROVIDER, master):  # nobody approves by hand
                r = client.post(f"{base}/decisions", json=decision, headers=as_(platform, who))
                assert r.status_code == 409 and "only through accreditation" in r.text
            r = client.post(f"{base}/submission", json={"note": "first release"},
                            headers=as_(platform, PROVIDER))  # fmt: skip
            assert r.status_code == 200 and r.json()["state"] == "submitted", r.text
            done = accreditation.run_checks(runtime, admin, "solar-potential@0.1.0", samples)
            assert done.passed, [(c.check, c.summary) for c in done.failed]
            accreditation.assign(db, admin, "solar-potential@0.1.0", ["Keurmerk Instituut"])
            review = tomllib.loads(REVIEW.read_text())
            scores = {"framework": review["framework"], "scores": list(review["scores"].values())}
            r = client.post(f"{base}/accreditation/scores", json=scores,
                            headers=as_(platform, PROVIDER))  # fmt: skip
            assert r.status_code == 403  # the publisher does not score its own app
            r = client.post(f"{base}/accreditation/scores", json=scores,
                            headers=as_(platform, REVIEWER))  # fmt: skip
            assert r.status_code == 200 and r.json()["scored"] == 20, r.text
            assert r.json()["verdict"] == {"accreditable": True, "reasons": []}
            queue = client.get("/store/accreditation/queue", headers=as_(platform, REVIEWER))
            assert [(q["app"], q["scored"], q["next"]) for q in queue.json()["queue"]] == [
                ("solar-potential", "20/20", "the market master decides")
            ]
            others = client.get(
                "/store/accreditation/queue", headers=as_(platform, "analyst@delft.nl")
            )
            assert others.json() == {"queue": []}  # Delft has no part in it
            outcome = {"outcome": "accredited", "reason": "meets every norm"}
            r = client.post(f"{base}/accreditation/decision", json=outcome,
                            headers=as_(platform, REVIEWER))  # fmt: skip
            assert r.status_code == 403
            r = client.post(f"{base}/accreditation/decision", json=outcome,
                            headers=as_(platform, master))  # fmt: skip
            assert r.status_code == 200 and r.json()["accredited"] is True, r.text
            public_report = client.get(f"{base}/accreditation")  # anonymous: it is public
            assert public_report.status_code == 200
            assert public_report.json()["automated_checks"]["passed"] is True

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
            assert "meets every norm" in product  # the decision on record
            assert "accreditation report" in product and "Trust score" in product

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
            through_pipeline(db, "shots@0.1.0")  # its accreditation is not the point here
            image = client.get("/store/apps/shots/screenshots/screen.png")
            assert image.content == png and image.headers["content-type"] == "image/png"
            assert client.get("/store/apps/shots/screenshots/other.png").status_code == 404
    finally:
        executor.close()
