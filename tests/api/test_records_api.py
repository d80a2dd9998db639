"""The store's catalogue as OGC API – Records, read by clients no one here wrote: OWSLib's
Records client over HTTP, and rdflib for the DCAT-AP JSON-LD."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from fastapi.testclient import TestClient
from owslib.ogcapi.records import Records
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF

from tests.api.live import live_server
from tests.store.listing import through_pipeline
from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.services import store
from tweeling.storage.db import Database

APPS = Path(__file__).resolve().parents[2] / "apps"


@pytest.fixture
def catalogue(db: Database, tmp_path: Path) -> Database:
    with db.begin() as conn:
        identity.bootstrap(conn)
        provider = identity.create_organisation(conn, "Stadslab BV", "provider", actor="test")
    packages.generate_key(tmp_path / "key.pem")
    key = packages.load_key(tmp_path / "key.pem")
    developer = Principal(0, "dev@stadslab.nl", provider, frozenset({Role.developer}))
    for app in ("solar-potential", "sun-hours-and-shade", "heat-stress"):
        store.publish(db, developer, packages.from_path(APPS / app, key))
    for app in ("solar-potential", "sun-hours-and-shade"):  # heat-stress stays a draft
        through_pipeline(db, f"{app}@0.1.0")
    return db


def test_owslib_reads_the_catalogue(catalogue: Database) -> None:
    with live_server(create_app(catalogue)) as base:
        api = Records(f"{base}/records")
        assert (
            "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/core"
            in (api.conformance()["conformsTo"])
        )
        assert api.records() == ["apps"]
        everything = api.collection_items("apps")
        assert everything["numberMatched"] == 2  # the submitted one is not public
        found = api.collection_items("apps", q="zonnepanelen")
        assert [f["id"] for f in found["features"]] == ["solar-potential"]
        solar = api.collection_item("apps", "solar-potential")
        props = solar["properties"]
        assert props["type"] == "software" and props["license"] == "EUPL-1.2"
        assert props["title"] == "Solar potential of roofs and facades"
        assert props["contacts"][0]["organization"] == "Stadslab BV"
        assert {"energy", "zonnepanelen"} <= set(props["keywords"])
        assert solar["conformsTo"] == [
            "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"
        ]


# rdflib 7's own JSON-LD parser still builds a ConjunctiveGraph, which rdflib deprecates.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_dcat_ap_json_ld_parses_with_rdflib(catalogue: Database) -> None:
    with TestClient(create_app(catalogue)) as client:
        r = client.get("/records/collections/apps/items/solar-potential?f=jsonld")
        assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json"
        graph = rdflib.Graph().parse(data=r.text, format="json-ld")
        service = rdflib.URIRef(r.json()["@id"])
        assert (service, RDF.type, DCAT.DataService) in graph
        assert str(graph.value(service, DCTERMS.title)) == "Solar potential of roofs and facades"
        assert graph.value(service, DCTERMS.license) == rdflib.URIRef(
            "https://spdx.org/licenses/EUPL-1.2"
        )
        assert str(graph.value(service, OWL.versionInfo)) == "0.1.0"
        themes = set(graph.objects(service, DCAT.theme))
        assert rdflib.URIRef("https://tweeling.nl/def/use-case/energy") in themes

        listing = client.get(
            "/records/collections/apps/items", headers={"Accept": "application/ld+json"}
        )
        catalogue_graph = rdflib.Graph().parse(data=listing.text, format="json-ld")
        root = rdflib.URIRef(listing.json()["@id"])
        assert (root, RDF.type, DCAT.Catalog) in catalogue_graph
        assert len(set(catalogue_graph.objects(root, DCAT.service))) == 2

        item = client.get("/records/collections/apps/items/solar-potential").json()
        report = next(link for link in item["links"] if link["rel"] == "describedby")
        assert report["href"].endswith("/store/apps/solar-potential/versions/0.1.0/accreditation")
        assert client.get(report["href"]).status_code == 200  # public with the record
        assert client.get("/records/collections/apps/items/heat-stress").status_code == 404
        assert client.get("/records/collections/nope/items").status_code == 404
        page = client.get("/records/collections/apps/items?limit=1").json()
        assert page["numberReturned"] == 1 and page["numberMatched"] == 2
        assert any(link["rel"] == "next" for link in page["links"])
