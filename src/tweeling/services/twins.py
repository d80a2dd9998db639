"""Twins, datasets and scenarios on behalf of a principal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, or_, select, text

from tweeling.access.audit import AuditEvent, record
from tweeling.access.identity import Principal, get_organisation
from tweeling.access.policy import Action, Kind, Resource, Share, authorize, decide
from tweeling.errors import InvalidInput, NotFound
from tweeling.storage.db import Database
from tweeling.storage.schema import datasets, organisations, shares, twins, usage_log
from tweeling.twin import scenarios as core
from tweeling.twin import twins as core_twins
from tweeling.twin.export import export
from tweeling.twin.ingest import DatasetInfo, IngestReport, ingest
from tweeling.twin.twins import Scenario, Twin, get_scenario, get_twin, list_scenarios, now
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
        query = select(twins.c.name).order_by(twins.c.name)
        if not principal.operator:
            query = query.where(
                or_(
                    twins.c.owner_org_id == principal.org.id,
                    twins.c.public.is_(True),
                    twins.c.id.in_(shared_ids),
                )
            )
        rows = conn.execute(query)
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
            if twin.owner_org_id is None:
                raise InvalidInput(f"twin {name!r} has no owning organisation to share from")
            grantee = get_organisation(conn, with_org)
            conn.execute(
                insert(shares).values(
                    resource_kind=Kind.twin.value,
                    resource_id=twin.id,
                    owner_org_id=twin.owner_org_id,
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


# -- twins, datasets and scenarios made, changed and removed -----------------------------------


def create_twin(
    db: Database, principal: Principal, name: str, crs: str, title: str | None = None
) -> Twin:
    """A new, empty twin owned by the principal's organisation."""
    authorize(
        db,
        principal,
        Action.create,
        Resource(Kind.twin, f"twin:{name}", owner_org_id=principal.org.id),
    )
    with db.begin() as conn:
        twin = core_twins.create_twin(
            conn, name, crs, title=title, author=principal.email, owner_org_id=principal.org.id
        )
        record(
            conn,
            AuditEvent(
                principal.actor,
                "twin.create",
                organisation=principal.org.name,
                target=f"twin:{name}",
                detail={"crs": twin.crs},
            ),
        )
    return twin


def update_twin(db: Database, principal: Principal, name: str, *, title: str | None) -> None:
    twin = _twin(db, principal, name, Kind.twin, Action.update, None)
    with db.begin() as conn:
        conn.execute(twins.update().where(twins.c.id == twin.id).values(title=title))
        record(
            conn,
            AuditEvent(
                principal.actor,
                "twin.update",
                organisation=principal.org.name,
                target=f"twin:{name}",
                detail={"title": title},
            ),
        )


def delete_twin(db: Database, principal: Principal, name: str) -> None:
    _twin(db, principal, name, Kind.twin, Action.delete, None)
    core.delete_twin(db, name)
    with db.begin() as conn:
        record(
            conn,
            AuditEvent(
                principal.actor,
                "twin.delete",
                organisation=principal.org.name,
                target=f"twin:{name}",
            ),
        )


def import_dataset(
    db: Database,
    principal: Principal,
    twin_name: str,
    path: Path,
    *,
    crs: str | None = None,
    info: DatasetInfo | None = None,
) -> IngestReport:
    """Import a file into an existing twin as a new dataset."""
    _twin(db, principal, twin_name, Kind.dataset, Action.create, None)
    report = ingest(db, path, twin_name, crs=crs, info=info, author=principal.email)
    with db.begin() as conn:
        record(
            conn,
            AuditEvent(
                principal.actor,
                "dataset.import",
                organisation=principal.org.name,
                target=f"twin:{twin_name}/dataset:{report.dataset_id}",
                detail={"objects": report.objects, "content_hash": report.content_hash},
            ),
        )
    return report


def _dataset(conn: Connection, twin: Twin, dataset_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(datasets).where(datasets.c.id == dataset_id, datasets.c.twin_id == twin.id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"twin {twin.name!r} has no dataset {dataset_id}")
    return {str(k): v for k, v in row.items()}


DATASET_FIELDS = ("name", "source", "owner", "licence", "acquired")


def update_dataset(
    db: Database, principal: Principal, twin_name: str, dataset_id: int, fields: dict[str, Any]
) -> None:
    """Correct a dataset's descriptive metadata (its content and hash stay as imported)."""
    unknown = set(fields) - set(DATASET_FIELDS)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))} of a dataset")
    twin = _twin(db, principal, twin_name, Kind.dataset, Action.update, None)
    with db.begin() as conn:
        _dataset(conn, twin, dataset_id)
        conn.execute(datasets.update().where(datasets.c.id == dataset_id).values(**fields))
        record(
            conn,
            AuditEvent(
                principal.actor,
                "dataset.update",
                organisation=principal.org.name,
                target=f"twin:{twin_name}/dataset:{dataset_id}",
                detail=fields,
            ),
        )


def delete_dataset(db: Database, principal: Principal, twin_name: str, dataset_id: int) -> int:
    """Withdraw a dataset: its objects leave the current reality as one recorded edit.

    Scenarios made earlier keep seeing them, as they were; the dataset's record stays for
    provenance, marked withdrawn. Returns the number of objects removed.
    """
    twin = _twin(db, principal, twin_name, Kind.dataset, Action.delete, None)
    with db.read() as conn:
        _dataset(conn, twin, dataset_id)
        current = view_of(conn, get_scenario(conn, twin, "current"))
        condition, params = current.visible("o")
        ids = [
            r[0]
            for r in conn.execute(
                text(
                    f"SELECT o.object_id FROM city_objects o WHERE {condition} "
                    "AND NOT o.deleted AND o.dataset_id = :d AND o.parents IS NULL"
                ),
                {**params, "d": dataset_id},
            )
        ]
    removed = 0
    if ids:
        result = core.edit(
            db,
            twin_name,
            "current",
            core.Changes(delete=ids),
            reason=f"dataset {dataset_id} withdrawn",
            author=principal.email,
        )
        removed = result.deleted
    with db.begin() as conn:
        meta = dict(_dataset(conn, twin, dataset_id)["meta"] or {})
        meta["withdrawn"] = {"at": now().isoformat(), "by": principal.email}
        conn.execute(datasets.update().where(datasets.c.id == dataset_id).values(meta=meta))
        record(
            conn,
            AuditEvent(
                principal.actor,
                "dataset.delete",
                organisation=principal.org.name,
                target=f"twin:{twin_name}/dataset:{dataset_id}",
                detail={"objects_removed": removed},
            ),
        )
    return removed


def delete_scenario(db: Database, principal: Principal, twin_name: str, name: str) -> None:
    _twin(db, principal, twin_name, Kind.scenario, Action.delete, None)
    core.delete_scenario(db, twin_name, name)
    with db.begin() as conn:
        record(
            conn,
            AuditEvent(
                principal.actor,
                "scenario.delete",
                organisation=principal.org.name,
                target=f"twin:{twin_name}/scenario:{name}",
            ),
        )


def ingest_file(
    db: Database,
    principal: Principal,
    path: Path,
    twin_name: str,
    *,
    owner_org_id: int | None,
    **options: Any,
) -> IngestReport:
    """Import a file into a twin, creating the twin (for ``owner_org_id``) when it is new."""
    with db.read() as conn:
        exists = core_twins.find_twin(conn, twin_name) is not None
    if exists:
        _twin(db, principal, twin_name, Kind.dataset, Action.create, None)
    else:
        authorize(
            db,
            principal,
            Action.create,
            Resource(Kind.twin, f"twin:{twin_name}", owner_org_id=owner_org_id),
        )
    report = ingest(
        db, path, twin_name, author=principal.email, owner_org_id=owner_org_id, **options
    )
    with db.begin() as conn:
        record(
            conn,
            AuditEvent(
                principal.actor,
                "dataset.import",
                organisation=principal.org.name,
                target=f"twin:{twin_name}/dataset:{report.dataset_id}",
                detail={
                    "objects": report.objects,
                    "file": path.name,
                    "content_hash": report.content_hash,
                },
            ),
        )
    return report


def export_scenario(
    db: Database,
    principal: Principal,
    twin_name: str,
    fmt: str,
    out: Path,
    *,
    scenario: str = "current",
    purpose: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a scenario to a file; counts as a read of every dataset of the twin."""
    twin = _twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    written = export(db, twin_name, fmt, out, scenario=scenario, progress=progress)
    with db.begin() as conn:
        for (dataset_id,) in conn.execute(
            select(datasets.c.id).where(datasets.c.twin_id == twin.id)
        ):
            conn.execute(
                insert(usage_log).values(
                    at=now(),
                    user_email=principal.email,
                    org_id=principal.org.id,
                    dataset_id=dataset_id,
                    purpose=purpose,
                    action=f"export:{fmt}",
                )
            )
    return written


def usage(db: Database, principal: Principal, twin_name: str) -> list[dict[str, Any]]:
    """Who used the twin's datasets, when, for what ("who uses our data") — for its owner."""
    twin = _twin(db, principal, twin_name, Kind.twin, Action.share, None)
    with db.read() as conn:
        rows = conn.execute(
            select(
                usage_log.c.at,
                usage_log.c.user_email,
                organisations.c.name,
                usage_log.c.dataset_id,
                usage_log.c.purpose,
                usage_log.c.action,
            )
            .select_from(
                usage_log.outerjoin(organisations, organisations.c.id == usage_log.c.org_id)
            )
            .where(
                usage_log.c.dataset_id.in_(
                    select(datasets.c.id).where(datasets.c.twin_id == twin.id)
                )
            )
            .order_by(usage_log.c.at)
        )
        return [
            {
                "at": at.isoformat(),
                "user": user,
                "organisation": org,
                "dataset": ds,
                "purpose": purpose,
                "action": action,
            }
            for at, user, org, ds, purpose, action in rows
        ]


def history(
    db: Database, principal: Principal, twin_name: str, scenario: str
) -> list[dict[str, Any]]:
    _twin(db, principal, twin_name, Kind.scenario, Action.read, None)
    return core.scenario_history(db, twin_name, scenario)


def datasets_of(
    db: Database, principal: Principal, twin_name: str, purpose: str | None = None
) -> list[dict[str, Any]]:
    return twin_datasets(db, principal, twin_name, purpose)
