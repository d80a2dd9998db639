"""W3C PROV for app runs: which algorithm ran on which data, with which parameters, for whom.

A run is a ``prov:Activity`` that used the prepared inputs (derived from the scenario as it
was and from the datasets its objects came from, each with content hash, owner and licence)
and the parameters, associated with the app (a ``prov:SoftwareAgent`` identified by its
package hash) on behalf of the person who started it and their organisation, for a stated
purpose. It generated the outputs (with their hash) and, where they were stored, the
scenario's next state. A recipe joins its steps' documents and links each step to the one
before with ``wasInformedBy``, so the chain reads in order.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
from prov.model import PROV_TYPE, ProvDocument

TW = "https://tweeling.nl/ns/prov#"


def _namespaces(doc: ProvDocument) -> None:
    doc.add_namespace("tw", TW)
    doc.add_namespace("run", "urn:tweeling:run:")
    doc.add_namespace("app", "urn:tweeling:app:")
    doc.add_namespace("data", "urn:tweeling:data:")
    doc.add_namespace("who", "urn:tweeling:agent:")


def _local(text: object) -> str:
    """A name as a PROV qualified name's local part (percent-encoded where PROV-N needs it)."""
    return quote(str(text), safe="-._/")


def _time(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def run_document(record: dict[str, Any]) -> ProvDocument:
    """The PROV document of one run record (``runs.RunRecord.as_json()``)."""
    doc = ProvDocument()
    _namespaces(doc)
    run_id = record["run_id"]
    inputs = record.get("inputs") or {}
    activity = doc.activity(
        f"run:{run_id}",
        _time(record.get("started_at")),
        _time(record.get("ended_at")),
        {
            PROV_TYPE: "tw:AppRun",
            "tw:status": record["status"],
            "tw:purpose": record.get("purpose") or "",
            "tw:executor": record.get("executor") or "",
            "tw:twin": record["twin"],
            "tw:scenario": record["scenario"],
        },
    )
    app = doc.agent(
        f"app:{_local(record['app_id'])}/{_local(record['version'])}",
        {
            PROV_TYPE: "prov:SoftwareAgent",
            "tw:appId": record["app_id"],
            "tw:version": record["version"],
            "tw:packageHash": record["package_hash"],
        },
    )
    package = doc.entity(
        f"app:package/{record['package_hash']}",
        {PROV_TYPE: "prov:Plan", "tw:contentHash": record["package_hash"]},
    )
    doc.association(activity, app, package)
    person = doc.agent(f"who:{_local(record['actor'])}", {PROV_TYPE: "prov:Person"})
    doc.association(activity, person)
    if record.get("organisation"):
        org = doc.agent(
            f"who:org/{_local(record['organisation'])}", {PROV_TYPE: "prov:Organization"}
        )
        doc.delegation(person, org, activity)
    doc.delegation(app, person, activity)

    parameters = orjson.dumps(record["parameters"], option=orjson.OPT_SORT_KEYS)
    params = doc.entity(
        f"data:parameters/{hashlib.sha256(parameters).hexdigest()}",
        {PROV_TYPE: "tw:Parameters", "tw:value": parameters.decode()},
    )
    doc.used(activity, params)
    scenario = doc.entity(
        f"data:{_local(record['twin'])}/{_local(record['scenario'])}/{record.get('as_of_seq')}",
        {PROV_TYPE: "tw:ScenarioState", "tw:editSeq": int(record.get("as_of_seq") or 0)},
    )
    prepared = doc.entity(
        f"data:inputs/{inputs.get('content_hash', 'none')}",
        {
            PROV_TYPE: "tw:PreparedInputs",
            "tw:contentHash": inputs.get("content_hash", ""),
            "tw:objects": orjson.dumps(inputs.get("objects", {})).decode(),
            "tw:editedObjects": int(inputs.get("edited_objects", 0)),
        },
    )
    doc.wasDerivedFrom(prepared, scenario)
    doc.used(activity, prepared)
    for dataset in inputs.get("datasets", []):
        entity = doc.entity(
            f"data:dataset/{dataset['id']}",
            {
                PROV_TYPE: "tw:Dataset",
                "tw:name": dataset.get("name") or "",
                "tw:contentHash": dataset.get("content_hash") or "",
                "tw:owner": dataset.get("owner") or "",
                "tw:licence": dataset.get("licence") or "",
            },
        )
        doc.wasDerivedFrom(scenario, entity)
    if record.get("output_hash"):
        outputs = doc.entity(
            f"data:outputs/{record['output_hash']}",
            {PROV_TYPE: "tw:Outputs", "tw:contentHash": record["output_hash"]},
        )
        doc.wasGeneratedBy(outputs, activity, _time(record.get("ended_at")))
        doc.wasDerivedFrom(outputs, prepared)
        if record.get("stored_seq") is not None:
            stored = doc.entity(
                f"data:{_local(record['twin'])}/{_local(record['scenario'])}/{record['stored_seq']}",
                {PROV_TYPE: "tw:ScenarioState", "tw:editSeq": int(record["stored_seq"])},
            )
            doc.wasGeneratedBy(stored, activity)
            doc.wasDerivedFrom(stored, outputs)
            doc.wasRevisionOf(stored, scenario)
    if record.get("cached_from"):
        doc.wasInformedBy(activity, f"run:{record['cached_from']}")
    return doc


def chain_document(
    records: list[dict[str, Any]], recipe: dict[str, Any] | None = None
) -> ProvDocument:
    """One document for runs in order (a recipe's steps): each informed by the one before."""
    doc = ProvDocument()
    _namespaces(doc)
    previous = None
    for record in records:
        doc.update(run_document(record))
        activity = f"run:{record['run_id']}"
        if previous is not None:
            doc.wasInformedBy(activity, previous)
        previous = activity
    if recipe is not None:
        plan = doc.entity(
            f"data:recipe/{_local(recipe['hash'])}",
            {PROV_TYPE: "prov:Plan", "tw:name": recipe["name"]},
        )
        for record in records:
            doc.wasInfluencedBy(f"run:{record['run_id']}", plan)
    return doc.unified()


def as_json(doc: ProvDocument) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(doc.serialize(format="json") or "{}")
    return parsed


def load_json(data: dict[str, Any]) -> ProvDocument:
    return ProvDocument.deserialize(content=orjson.dumps(data).decode(), format="json")
