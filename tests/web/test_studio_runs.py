"""Runs and provenance in the Studio and the API: a real run of a demo app in the sandbox, its
page with the provenance graph read from its PROV document, the replay's verdict, and the
PROV-JSON and PROV-N downloads parsed back with the ``prov`` library."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prov.model import ProvActivity, ProvDocument, ProvEntity

from tweeling.access import identity
from tweeling.access.identity import local_operator
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import apps as service
from tweeling.storage.db import Database
from tweeling.twin.ingest import DatasetInfo, ingest
from tweeling.web.studio.prov_graph import graph

PLANNER = "planner@delft.nl"
OUTSIDER = "admin@rotterdam.nl"


@dataclass
class Ran:
    client: TestClient
    run_id: str
    tokens: dict[str, str]
    db: Database

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
def ran(
    module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ran]:
    """The Delft twin with the footprints demo app installed and run once, for research."""
    folder = tmp_path_factory.mktemp("runs")
    tokens = {}
    with module_db.begin() as conn:
        identity.bootstrap(conn)
        for org in ("Gemeente Delft", "Gemeente Rotterdam"):
            identity.create_organisation(conn, org, "municipality", actor="test")
        for email, org in ((PLANNER, "Gemeente Delft"), (OUTSIDER, "Gemeente Rotterdam")):
            identity.add_member(conn, email, org, "admin", actor="test")
            tokens[email] = identity.create_token(conn, email, org, actor="test").secret
        delft = identity.get_organisation(conn, "Gemeente Delft").id
    about = DatasetInfo(owner="Gemeente Delft", licence="CC BY 4.0")
    ingest(module_db, samples / "delft.city.json", "delft", owner_org_id=delft, info=about)
    app = scaffold("footprints", folder)
    service.install(module_db, local_operator("test"), "delft", packages.from_path(app), {})
    executor = LocalExecutor(slots=1)
    runtime = Runtime(module_db, executor, folder / "home")
    with TestClient(create_app(module_db, runtime=runtime, run_jobs=False)) as client:
        answer = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={"inputs": {"purpose": "research", "large_m2": 200}},
            headers={"Authorization": f"Bearer {tokens[PLANNER]}"},
        )
        assert answer.status_code == 200, answer.text
        run_id = answer.headers["Location"].rsplit("/", 1)[-1]
        yield Ran(client, run_id, tokens, module_db)
    executor.close()


def test_prov_n_download_parses_back_to_the_same_document(ran: Ran) -> None:
    job = f"/ogc/delft/jobs/{ran.run_id}"
    as_json = ran.client.get(f"{job}/provenance", headers=ran.as_(PLANNER))
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    as_n = ran.client.get(f"{job}/provenance.provn", headers=ran.as_(PLANNER))
    assert as_n.status_code == 200
    assert as_n.headers["content-type"].startswith("text/provenance-notation")
    from_json = ProvDocument.deserialize(content=as_json.text, format="json")
    from_n = ProvDocument.deserialize(content=as_n.text, format="provn")
    assert from_n == from_json
    activities = [r for r in from_n.get_records() if isinstance(r, ProvActivity)]
    assert [str(a.identifier) for a in activities] == [f"run:{ran.run_id}"]


def test_prov_n_follows_the_policy(ran: Ran) -> None:
    job = f"/ogc/delft/jobs/{ran.run_id}"
    assert ran.client.get(f"{job}/provenance.provn", headers=ran.as_(OUTSIDER)).status_code == 404
    assert ran.client.get(f"{job}/provenance.provn").status_code in (401, 404)
    missing = ran.client.get("/ogc/delft/jobs/nope/provenance.provn", headers=ran.as_(PLANNER))
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_replay_gives_the_verdict_with_both_hashes(ran: Ran) -> None:
    original = service.get_run(ran.db, local_operator("test"), ran.run_id)
    answer = ran.client.post(f"/ogc/delft/jobs/{ran.run_id}/replay", headers=ran.as_(PLANNER))
    assert answer.status_code == 200, answer.text
    verdict = answer.json()
    assert verdict["identical"] is True and verdict["same_inputs"] is True
    assert verdict["original"]["output_hash"] == original.output_hash
    assert verdict["replay"]["output_hash"] == original.output_hash
    assert verdict["replay"]["run_id"] != ran.run_id
    refused = ran.client.post(f"/ogc/delft/jobs/{ran.run_id}/replay", headers=ran.as_(OUTSIDER))
    assert refused.status_code == 404
    missing = ran.client.post("/ogc/delft/jobs/nope/replay", headers=ran.as_(PLANNER))
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_the_graph_comes_from_the_prov_document(ran: Ran) -> None:
    document = service.prov_document(ran.db, local_operator("test"), ran.run_id)
    drawn = graph(document)
    entities = {str(r.identifier) for r in document.get_records() if isinstance(r, ProvEntity)}
    assert entities <= {n.id for n in drawn.nodes}
    (dataset,) = drawn.named("Dataset")
    (run,) = drawn.named("App run")
    (outputs,) = drawn.named("Outputs")
    (app,) = drawn.named("App")
    assert dataset.name == "delft.city.json"
    facts = {f.label: f.value for f in dataset.facts}
    assert facts["Owner"] == "Gemeente Delft" and facts["Licence"] == "CC BY 4.0"
    assert len(facts["Content hash"]) == 64
    assert dataset.column < run.column == app.column < outputs.column  # inputs | run | outputs
    record = service.get_run(ran.db, local_operator("test"), ran.run_id)
    assert any(f.value == record.output_hash for f in outputs.facts)
    assert app.name == f"footprints {record.version}"
    assert ("run:" + ran.run_id, "used") in {(e.subject, e.verb) for e in drawn.edges}
    assert all(
        e.line is not None
        for e in drawn.edges
        if e.verb == "was generated by" and drawn.node(e.subject).column == run.column + 1
    )


def test_run_list_and_run_page(ran: Ran) -> None:
    h = {**ran.as_(PLANNER), "Cookie": "tweeling_lang=en"}
    listing = ran.client.get("/studio/runs", headers=h)
    assert listing.status_code == 200
    assert f"/studio/runs/{ran.run_id}" in listing.text and "footprints" in listing.text
    filtered = ran.client.get("/studio/runs?twin=delft", headers=h)
    assert f"/studio/runs/{ran.run_id}" in filtered.text
    unknown = ran.client.get("/studio/runs?twin=atlantis", headers=h)
    assert unknown.status_code == 404
    page = ran.client.get(f"/studio/runs/{ran.run_id}", headers=h)
    assert page.status_code == 200
    text = page.text
    assert '<svg id="prov-graph"' in text and "delft.city.json" in text
    assert "research" in text and '{"large_m2": 200}' in text
    assert "large_count" in text and "160 objects" in text  # an indicator, an attribute
    assert f"/ogc/delft/jobs/{ran.run_id}/provenance.provn" in text
    assert f'data-replay="/ogc/delft/jobs/{ran.run_id}/replay"' in text
    dutch = ran.client.get(f"/studio/runs/{ran.run_id}", headers=ran.as_(PLANNER))
    assert "Herkomst" in dutch.text  # Dutch is the default
    assert (
        ran.client.get(f"/studio/runs/{ran.run_id}", headers=ran.as_(OUTSIDER)).status_code == 404
    )
