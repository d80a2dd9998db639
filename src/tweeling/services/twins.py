"""Twins, datasets and scenarios on behalf of a principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from tweeling.access.audit import AuditEvent, record
from tweeling.access.identity import Principal, get_organisation
from tweeling.access.policy import Action, Kind, Resource, Share, authorize, decide
from tweeling.errors import InvalidInput, NotFound
from tweeling.storage.db import Database
from tweeling.storage.schema import datasets, organisations, shares, twins, usage_log
from tweeling.twin import scenarios as core
from tweeling.twin.twins import Scenario, Twin, get_twin, list_scenarios, now
from tweeling.twin.views import count_by_type, view_of


def _shares(conn: Connection, kind: Kind, resource_id: int) -> tuple[Share, ...]:
    rows = conn.execute(
        select(shares.c.grantee_org_id, shares.c.purposes).where(
            shares.c.resource_kind == kind.value,
            shares.c.resource_id == resource_id,
            shares.c.revoked_at.is_(None),
        )
    )
    return tuple(Share(g, frozenset(p or [])) for g, p in rows)


def twin_resource(conn: Connection, twin: Twin, kind: Kind = Kind.twin) -> Resource:
    """A twin (or its datasets and scenarios, which share its owner and shares) for policy."""
    return Resource(
        kind,
        f"twin:{twin.name}",
        owner_org_id=twin.owner_org_id,
        public=twin.public,
        shares=_shares(conn, Kind.twin, twin.id),
    )


def _twin(
    db: Database, principal: Principal, name: str, kind: Kind, action: Action, purpose: str | None
) -> Twin:
    with db.read() as conn:
        try:
            twin = get_twin(conn, name)
        except NotFound:
            twin = None
        resource = twin_resource(conn, twin, kind) if twin else None
    if twin is None or resource is None:
        # the same answer as for a twin that exists but is not visible: nothing leaks
        raise NotFound(f"no twin named {name!r}")
    authorize(db, principal, action, resource, purpose)
    return twin


@dataclass(frozen=True)
class TwinInfo:
    name: str
    title: str | None
    crs: str
    public: bool
    owner: str | None
    scenarios: list[str]
    objects: dict[str, int]


def visible_twins(db: Database, principal: Principal) -> list[str]:
    """Names of the twins the principal may see (own, shared with it, public)."""
    with db.read() as conn:
        shared_ids = select(shares.c.resource_id).where(
            shares.c.resource_kind == Kind.twin.value,
            shares.c.revoked_at.is_(None),
            or_(shares.c.grantee_org_id == principal.org.id, shares.c.grantee_org_id.is_(None)),
        )
        rows = conn.execute(
            select(twins.c.name)
            .where(
                or_(
                    twins.c.owner_org_id == principal.org.id,
                    twins.c.public.is_(True),
                    twins.c.id.in_(shared_ids),
                )
            )
            .order_by(twins.c.name)
        )
        names = [r[0] for r in rows]
        return [
            n
            for n in names
            if decide(principal, Action.read, twin_resource(conn, get_twin(conn, n))).visible
        ]


def twin_info(
    db: Database, principal: Principal, name: str, purpose: str | None = None
) -> TwinInfo:
    twin = _twin(db, principal, name, Kind.twin, Action.read, purpose)
    with db.read() as conn:
        scenario_list = list_scenarios(conn, twin)
        current = next(s for s in scenario_list if s.name == "current")
        counts = count_by_type(conn, view_of(conn, current))
        owner = conn.execute(
            select(organisations.c.name).where(organisations.c.id == twin.owner_org_id)
        ).scalar()
    return TwinInfo(
        twin.name, twin.title, twin.crs, twin.public, owner, [s.name for s in scenario_list], counts
    )


def twin_datasets(
    db: Database, principal: Principal, name: str, purpose: str | None = None
) -> list[dict[str, Any]]:
    """The twin's datasets with their metadata; each read is written to the usage log."""
    twin = _twin(db, principal, name, Kind.dataset, Action.read, purpose)
    with db.begin() as conn:
        rows = [
            {str(k): v for k, v in r.items()}
            for r in conn.execute(
                select(datasets).where(datasets.c.twin_id == twin.id).order_by(datasets.c.id)
            ).mappings()
        ]
        for row in rows:
            conn.execute(
                insert(usage_log).values(
                    at=now(),
                    user_email=principal.email,
                    org_id=principal.org.id,
                    dataset_id=row["id"],
                    purpose=purpose,
                    action="read",
                )
            )
    return rows


def share_twin(
    db: Database,
    principal: Principal,
    name: str,
    *,
    with_org: str | None,
    purposes: list[str],
    public: bool = False,
) -> None:
    """Share a twin (its datasets and scenarios) with an organisation, or make it public."""
    twin = _twin(db, principal, name, Kind.twin, Action.share, None)
    with db.begin() as conn:
        if public:
            conn.execute(twins.update().where(twins.c.id == twin.id).values(public=True))
            target = "everyone"
        else:
            if not with_org:
                raise InvalidInput("name the organisation to share with, or make the twin public")
            grantee = get_organisation(conn, with_org)
            conn.execute(
                insert(shares).values(
                    resource_kind=Kind.twin.value,
                    resource_id=twin.id,
                    owner_org_id=principal.org.id,
                    grantee_org_id=grantee.id,
                    purposes=sorted(set(purposes)),
                    created_by=principal.email,
                    created_at=now(),
                )
            )
            target = grantee.name
        record(
            conn,
            AuditEvent(
                principal.actor,
                "twin.share",
                organisation=principal.org.name,
                target=f"twin:{name}",
                detail={"with": target, "purposes": sorted(set(purposes))},
            ),
        )


def create_scenario(
    db: Database, principal: Principal, twin_name: str, name: str, **options: Any
) -> Scenario:
    _twin(db, principal, twin_name, Kind.scenario, Action.create, None)
    scenario = core.create_scenario(db, twin_name, name, author=principal.email, **options)
    with db.begin() as conn:
        record(
            conn,
            AuditEvent(
                principal.actor,
                "scenario.create",
                organisation=principal.org.name,
                target=f"twin:{twin_name}/scenario:{name}",
                detail={"from": options.get("source", "current")},
            ),
        )
    return scenario


def edit_scenario(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario: str,
    changes: core.Changes,
    reason: str,
) -> core.EditResult:
    _twin(db, principal, twin_name, Kind.scenario, Action.update, None)
    result = core.edit(db, twin_name, scenario, changes, reason=reason, author=principal.email)
    with db.begin() as conn:
        record(
            conn,
            AuditEvent(
                principal.actor,
                "scenario.edit",
                organisation=principal.org.name,
                target=f"twin:{twin_name}/scenario:{scenario}",
                detail={
                    "edit": result.seq,
                    "added": result.added,
                    "modified": result.modified,
                    "deleted": result.deleted,
                    "reason": reason,
                },
            ),
        )
    return result


def diff_scenarios(
    db: Database, principal: Principal, twin_name: str, a: str, b: str, purpose: str | None = None
) -> core.Diff:
    _twin(db, principal, twin_name, Kind.scenario, Action.read, purpose)
    return core.diff(db, twin_name, a, b)
