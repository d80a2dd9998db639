"""The store's listings as catalogue records: OGC API – Records (record-core GeoJSON) and
DCAT-AP (JSON-LD), so that any catalogue client or harvester can read the store.

An app version is described as a ``dcat:DataService`` — software that works on data, offered
under a licence by a publisher — with its use cases as themes, its licence as the SPDX URI,
its version, dates and the landing page of its product page; the store as a whole is a
``dcat:Catalog`` of them.
"""

from __future__ import annotations

from typing import Any

from tweeling.store.catalogue import Version

RECORD_CORE = "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"
USE_CASE_SCHEME = "https://tweeling.nl/def/use-case"
SPDX = "https://spdx.org/licenses/"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
}


def record(
    version: Version, item_url: str, rating: float | None = None, report_url: str | None = None
) -> dict[str, Any]:
    """A record-core GeoJSON feature of an app version (no geometry: apps have no place),
    linked to its public accreditation report when given."""
    manifest, page = version.manifest, version.page
    use_cases = list(manifest.get("use_cases", []))
    properties: dict[str, Any] = {
        "type": "software",
        "title": page.title,
        "description": page.summary,
        "keywords": sorted(set(page.keywords) | set(use_cases)),
        "themes": [{"concepts": [{"id": u} for u in use_cases], "scheme": USE_CASE_SCHEME}],
        "contacts": [
            {
                "organization": version.publisher or manifest.get("publisher"),
                "roles": ["publisher"],
                **({"emails": [{"value": page.contact}]} if page.contact else {}),
            }
        ],
        "license": manifest.get("licence"),
        "version": version.version,
        "created": version.submitted_at.isoformat(),
        "updated": version.submitted_at.isoformat(),
        "tweeling:state": version.state.value,
        "tweeling:price": page.price.model_dump(mode="json"),
        "tweeling:personalData": bool(manifest.get("personal_data")),
        "tweeling:packageHash": version.content_hash,
    }
    if rating is not None:
        properties["tweeling:meanRating"] = round(rating, 2)
    return {
        "id": version.app_id,
        "type": "Feature",
        "conformsTo": [RECORD_CORE],
        "geometry": None,
        "time": None,
        "properties": properties,
        "links": [
            {"rel": "self", "type": "application/geo+json", "href": item_url},
            {
                "rel": "alternate",
                "type": "application/ld+json",
                "title": "DCAT-AP",
                "href": f"{item_url}?f=jsonld",
            },
            *(
                [
                    {
                        "rel": "describedby",
                        "type": "application/json",
                        "title": "accreditation report",
                        "href": report_url,
                    }
                ]
                if report_url
                else []
            ),
        ],
    }


def dcat(version: Version, item_url: str) -> dict[str, Any]:
    """One app version as a DCAT-AP ``dcat:DataService`` node (JSON-LD, without context)."""
    manifest, page = version.manifest, version.page
    licence = manifest.get("licence") or ""
    node: dict[str, Any] = {
        "@id": item_url,
        "@type": "dcat:DataService",
        "dct:identifier": version.app_id,
        "dct:title": {"@value": page.title, "@language": "en"},
        "dct:description": {"@value": page.summary, "@language": "en"},
        "dcat:keyword": sorted(page.keywords),
        "dcat:theme": [{"@id": f"{USE_CASE_SCHEME}/{u}"} for u in manifest.get("use_cases", [])],
        "dct:publisher": {
            "@type": "foaf:Agent",
            "foaf:name": version.publisher or manifest.get("publisher"),
        },
        "owl:versionInfo": version.version,
        "dct:issued": {"@value": version.submitted_at.isoformat(), "@type": "xsd:dateTime"},
        "dcat:landingPage": {"@id": item_url},
    }
    if licence and " " not in licence:  # a single SPDX identifier has its own URI
        node["dct:license"] = {"@id": f"{SPDX}{licence}"}
    elif licence:
        node["dct:license"] = {"@type": "dct:LicenseDocument", "dct:title": licence}
    if page.contact:
        node["dcat:contactPoint"] = {"@type": "vcard:Kind", "vcard:hasEmail": page.contact}
    return node


def dcat_document(node: dict[str, Any]) -> dict[str, Any]:
    return {"@context": CONTEXT, **node}


def dcat_catalogue(url: str, title: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "@id": url,
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dcat:service": nodes,
    }


def remote_record(harvested: dict[str, Any], item_url: str) -> dict[str, Any]:
    """A record harvested from another store, as this catalogue shows it: marked with its
    origin (so no third store takes it for ours) and linked to its home."""
    original = harvested["record"]
    properties = {**original.get("properties", {}), "tweeling:origin": harvested["origin"]}
    links = [
        {"rel": "self", "type": "application/geo+json", "href": item_url},
        {"rel": "canonical", "type": "application/geo+json", "href": harvested["origin"]},
    ]
    return {**original, "properties": properties, "links": links}


def remote_dcat(harvested: dict[str, Any]) -> dict[str, Any]:
    """A harvested record as a DCAT-AP node, identified by its home store's URL."""
    props = harvested["record"].get("properties", {})
    node: dict[str, Any] = {
        "@id": harvested["origin"],
        "@type": "dcat:DataService",
        "dct:identifier": str(harvested["record"].get("id")),
        "dct:title": str(props.get("title", "")),
        "dct:description": str(props.get("description", "")),
        "dcat:keyword": [str(k) for k in props.get("keywords", [])],
    }
    if props.get("license") and " " not in str(props["license"]):
        node["dct:license"] = {"@id": f"{SPDX}{props['license']}"}
    if props.get("version"):
        node["owl:versionInfo"] = str(props["version"])
    return node
