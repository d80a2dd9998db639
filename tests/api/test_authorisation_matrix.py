"""The authorisation matrix, generated from the policy's own tables and exercised over HTTP
on a live server: every role × resource kind × action, in its own organisation and another.

Inside its own organisation a role may do exactly what ``ROLE_GRANTS`` lists (2xx) and gets
403 for the rest; in another organisation nothing exists for it (404).
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from tests.api.live import live_server
from tweeling.access import identity
from tweeling.access.identity import Role
from tweeling.access.policy import APPLICABLE, ROLE_GRANTS, Action, Kind
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest
from tweeling.twin.scenarios import create_scenario

ORG_KIND_FOR_ROLE = {Role.developer: "provider", Role.reviewer: "accreditor"}

TINY = {
    "type": "CityJSON",
    "version": "2.0",
    "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
    "transform": {"scale": [0.001, 0.001, 0.001], "translate": [85000, 447000, 0]},
    "CityObjects": {
        "b1": {
            "type": "Building",
            "attributes": {"measuredHeight": 9.0},
            "geometry": [{"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 2, 3]]]}],
        }
    },
    "vertices": [[0, 0, 0], [10000, 0, 0], [10000, 10000, 0], [0, 10000, 0]],
}


@dataclass
class World:
    base: str
    db: Database
    tokens: dict[Role, str]
    org_of: dict[Role, str]
    counter: itertools.count  # type: ignore[type-arg]


@pytest.fixture(scope="module")
def world(module_db: Database) -> Iterator[World]:
    db = module_db
    tokens: dict[Role, str] = {}
    org_of: dict[Role, str] = {}
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Buurgemeente", "municipality", actor="test")
        for role in Role:
            org = f"Org of {role.value}"
            identity.create_organisation(
                conn, org, ORG_KIND_FOR_ROLE.get(role, "municipality"), actor="test"
            )
            identity.add_member(conn, f"{role.value}@example.nl", org, role.value, actor="test")
            tokens[role] = identity.create_token(
                conn, f"{role.value}@example.nl", org, actor="test"
            ).secret
            org_of[role] = org
    with live_server(create_app(db)) as base:
        yield World(base, db, tokens, org_of, itertools.count())


def _fresh_twin(world: World, owner: str) -> tuple[str, int]:
    """A new twin owned by ``owner`` with one dataset and a scenario 'plan'."""
    name = f"t{next(world.counter)}"
    with world.db.read() as conn:
        org_id = identity.get_organisation(conn, owner).id
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.city.json"
        path.write_text(json.dumps(TINY))
        report = ingest(world.db, path, name, owner_org_id=org_id)
    create_scenario(world.db, name, "plan")
    return name, report.dataset_id


def _request(
    client: httpx2.Client, kind: Kind, action: Action, twin: str, dataset: int
) -> httpx2.Response:
    edit = {
        "reason": "matrix",
        "modify": {
            **TINY,
            "CityObjects": {"b1": {"type": "Building", "attributes": {"note": "x"}}},
        },
    }
    calls = {
        (Kind.twin, Action.read): ("GET", f"/twins/{twin}", None),
        (Kind.twin, Action.create): ("POST", "/twins", {"name": f"{twin}-new"}),
        (Kind.twin, Action.update): ("PATCH", f"/twins/{twin}", {"title": "new title"}),
        (Kind.twin, Action.delete): ("DELETE", f"/twins/{twin}", None),
        (Kind.twin, Action.share): (
            "POST",
            f"/twins/{twin}/shares",
            {"organisation": "Buurgemeente"},
        ),
        (Kind.dataset, Action.read): ("GET", f"/twins/{twin}/datasets", None),
        (Kind.dataset, Action.create): ("UPLOAD", f"/twins/{twin}/datasets", None),
        (Kind.dataset, Action.update): (
            "PATCH",
            f"/twins/{twin}/datasets/{dataset}",
            {"licence": "CC0-1.0"},
        ),
        (Kind.dataset, Action.delete): ("DELETE", f"/twins/{twin}/datasets/{dataset}", None),
        (Kind.scenario, Action.read): ("GET", f"/twins/{twin}/scenarios", None),
        (Kind.scenario, Action.create): ("POST", f"/twins/{twin}/scenarios", {"name": "other"}),
        (Kind.scenario, Action.update): ("POST", f"/twins/{twin}/scenarios/plan/edits", edit),
        (Kind.scenario, Action.delete): ("DELETE", f"/twins/{twin}/scenarios/plan", None),
    }
    method, path, body = calls[(kind, action)]
    if method == "UPLOAD":
        tiny = {**TINY, "CityObjects": {"b2": TINY["CityObjects"]["b1"]}}  # type: ignore[dict-item]
        return client.post(
            path, content=json.dumps(tiny), headers={"Content-Type": "application/city+json"}
        )
    return client.request(method, path, json=body)


# Organisation administration: the kinds and actions with an endpoint.
ADMIN_APPLICABLE = {
    Kind.membership: (Action.read, Action.create, Action.delete),
    Kind.token: (Action.create, Action.delete),
}


def _admin_request(
    world: World, client: httpx2.Client, kind: Kind, action: Action, org: str
) -> httpx2.Response:
    """Set up what the request needs (a member, a token) as the operator, then ask."""
    n = next(world.counter)
    role = "viewer"
    email = f"extra{n}@example.nl"
    with world.db.begin() as conn:
        identity.add_member(conn, email, org, role, actor="test")
        token_id = identity.create_token(conn, email, org, actor="test").id
    path = f"/organisations/{org}"
    if kind == Kind.membership and action == Action.read:
        return client.get(f"{path}/members")
    if kind == Kind.membership and action == Action.create:
        return client.post(f"{path}/members", json={"email": f"new{n}@example.nl", "role": role})
    if kind == Kind.membership:
        return client.delete(f"{path}/members/{email}/{role}")
    if action == Action.create:
        return client.post(f"{path}/tokens", json={"email": email})
    return client.delete(f"{path}/tokens/{token_id}")


ADMIN_CASES = [
    (role, kind, action, where)
    for role in Role
    for kind, actions in ADMIN_APPLICABLE.items()
    for action in actions
    for where in ("own", "other")
]


@pytest.mark.parametrize(
    ("role", "kind", "action", "where"),
    ADMIN_CASES,
    ids=[f"{r.value}-{k.value}-{a.value}-{w}" for r, k, a, w in ADMIN_CASES],
)
def test_admin_matrix(world: World, role: Role, kind: Kind, action: Action, where: str) -> None:
    org = world.org_of[role] if where == "own" else "Buurgemeente"
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    with httpx2.Client(base_url=world.base, headers=headers, timeout=30) as client:
        response = _admin_request(world, client, kind, action, org)
    if where == "other":
        assert response.status_code == 404, response.text
    elif (kind, action) in ROLE_GRANTS[role]:
        assert 200 <= response.status_code < 300, response.text
    else:
        assert response.status_code == 403, response.text


CASES = [
    (role, kind, action, where)
    for role in Role
    for kind, actions in APPLICABLE.items()
    for action in sorted(actions)
    for where in ("own", "other")
    if not (kind == Kind.twin and action == Action.create and where == "other")
]


def test_every_pair_has_an_endpoint() -> None:
    kinds = {(k, a) for k, actions in APPLICABLE.items() for a in actions}
    assert len(kinds) == 13
    assert {(c[1], c[2]) for c in CASES} == kinds


@pytest.mark.parametrize(
    ("role", "kind", "action", "where"),
    CASES,
    ids=[f"{r.value}-{k.value}-{a.value}-{w}" for r, k, a, w in CASES],
)
def test_matrix(world: World, role: Role, kind: Kind, action: Action, where: str) -> None:
    owner = world.org_of[role] if where == "own" else "Buurgemeente"
    twin, dataset = _fresh_twin(world, owner)
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    with httpx2.Client(base_url=world.base, headers=headers, timeout=30) as client:
        response = _request(client, kind, action, twin, dataset)
    if where == "other":
        assert response.status_code == 404, response.text
        assert twin in response.json()["message"]
    elif (kind, action) in ROLE_GRANTS[role]:
        assert 200 <= response.status_code < 300, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
