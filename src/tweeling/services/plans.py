"""Participation: an organisation publishes a proposed scenario as a plan that everyone may
read (3D, its effects in plain language) and comment on; the organisation moderates.

A plan opens exactly one scenario to the public, read-only: its tiles and its differences
from the base scenario, nothing else of the twin. That is a decision of the policy point
like any other (a ``plan`` resource that is public while the plan is published, and open to
contributions while its comments are open), so a withdrawn plan is gone for everyone at once.

Comments are held until the organisation approves them. A comment stores a pseudonym, its
text, optionally the object or the place it is about, and the time — no account, address or
cookie of its author (the page's privacy notice says so). Publishing, withdrawing and every
moderation decision are audit entries.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tweeling.access.audit import acted, record
from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind, Resource, authorize, decide
from tweeling.errors import InvalidInput, NotFound
from tweeling.services import tiles as tiles_service
from tweeling.services.twins import authorised_twin
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import organisations, plan_comments, plans, twins
from tweeling.twin import scenarios as core_scenarios
from tweeling.twin.twins import Twin, get_scenario, get_twin
from tweeling.twin.views import resolve, view_of

MAX_TITLE = 200
MAX_SUMMARY = 4000
MAX_COMMENT = 2000
MAX_PSEUDONYM = 40


class CommentStatus(StrEnum):
    pending = "pending"  # waiting for the organisation's moderation
    approved = "approved"  # shown on the plan's page
    hidden = "hidden"  # not shown; the note says why


class Moderation(StrEnum):
    approve = "approve"
    hide = "hide"


_DECIDED = {Moderation.approve: CommentStatus.approved, Moderation.hide: CommentStatus.hidden}


@dataclass(frozen=True)
class Plan:
    slug: str
    twin: str
    scenario: str
    base_scenario: str
    organisation: str
    title: str
    summary: str
    comments_open: bool
    published_by: str
    published_at: datetime
    withdrawn: bool


@dataclass(frozen=True)
class Comment:
    id: int
    pseudonym: str
    body: str
    object_id: str | None
    longitude: float | None
    latitude: float | None
    status: CommentStatus
    created_at: datetime
    moderated_by: str | None = None
    moderation_note: str | None = None


@dataclass(frozen=True)
class Effect:
    """One change of the plan in plain words' parts: what happens to which object."""

    change: str  # "added", "modified", "removed"
    object_id: str
    object_type: str
    attributes: list[dict[str, Any]] = field(default_factory=list)
    geometry_changed: bool = False


@dataclass(frozen=True)
class PlanPage:
    plan: Plan
    effects: list[Effect]
    comments: list[Comment]


def _slug(title: str) -> str:
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:50].strip("-") or "plan"
    return f"{words}-{secrets.token_hex(3)}"


def _text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    cleaned = value.strip()
    if "\x00" in cleaned:
        raise InvalidInput(f"{what}: contains a NUL character")
    if required and not cleaned:
        raise InvalidInput(f"{what}: must not be empty")
    if len(cleaned) > limit:
        raise InvalidInput(f"{what}: at most {limit} characters (got {len(cleaned)})")
    return cleaned


_PLAN_COLUMNS = (
    plans.c.id,
    plans.c.slug,
    plans.c.scenario,
    plans.c.base_scenario,
    plans.c.owner_org_id,
    plans.c.title,
    plans.c.summary,
    plans.c.comments_open,
    plans.c.published_by,
    plans.c.published_at,
    plans.c.withdrawn_at,
    twins.c.name.label("twin"),
    organisations.c.name.label("organisation"),
)


def _plan_query() -> Any:
    return (
        select(*_PLAN_COLUMNS)
        .join(twins, twins.c.id == plans.c.twin_id)
        .join(organisations, organisations.c.id == plans.c.owner_org_id)
    )


def _plan(row: Any) -> Plan:
    return Plan(
        slug=row.slug,
        twin=row.twin,
        scenario=row.scenario,
        base_scenario=row.base_scenario,
        organisation=row.organisation,
        title=row.title,
        summary=row.summary,
        comments_open=bool(row.comments_open),
        published_by=row.published_by,
        published_at=row.published_at,
        withdrawn=row.withdrawn_at is not None,
    )


def _resource(row: Any) -> Resource:
    """The plan for the policy point: public while published, open to comments while they
    are open."""
    published = row.withdrawn_at is None
    return Resource(
        Kind.plan,
        f"plan:{row.slug}",
        owner_org_id=row.owner_org_id,
        public=published,
        open_to_contributions=published and bool(row.comments_open),
    )


def _authorised(
    db: Database, principal: Principal, slug: str, action: Action, conn: Connection | None = None
) -> Any:
    """The plan's row, if the principal may do ``action`` to it."""
    if conn is None:
        with db.read(snapshot=False) as own:
            return _authorised(db, principal, slug, action, own)
    row = conn.execute(_plan_query().where(plans.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"no plan named {slug!r}")
    authorize(db, principal, action, _resource(row))
    return row


def publish(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario: str,
    *,
    title: str,
    summary: str,
    base_scenario: str = "current",
    comments_open: bool = True,
) -> Plan:
    """Publish ``scenario`` of the twin as a plan (an admin or editor of its organisation)."""
    twin = authorised_twin(db, principal, twin_name, Kind.scenario, Action.read, None)
    title = _text(title, "title", MAX_TITLE)
    summary = _text(summary, "summary", MAX_SUMMARY)
    if scenario == base_scenario:
        raise InvalidInput(f"a plan compares a scenario with another: both are {scenario!r}")
    if twin.owner_org_id is None:
        raise InvalidInput(f"twin {twin_name!r} has no organisation to publish a plan for it")
    authorize(
        db,
        principal,
        Action.create,
        Resource(Kind.plan, f"plan:{twin_name}/{scenario}", owner_org_id=twin.owner_org_id),
    )
    with db.begin() as conn:
        for name in (scenario, base_scenario):
            get_scenario(conn, twin, name)  # NotFound names the missing one
        slug = _slug(title)
        conn.execute(
            insert(plans).values(
                slug=slug,
                twin_id=twin.id,
                scenario=scenario,
                base_scenario=base_scenario,
                owner_org_id=twin.owner_org_id,
                title=title,
                summary=summary,
                comments_open=comments_open,
                published_by=principal.email,
                published_at=clock_of(conn).now(),
            )
        )
        record(
            conn,
            acted(
                principal,
                "plan.publish",
                f"plan:{slug}",
                {"twin": twin_name, "scenario": scenario, "base": base_scenario},
            ),
        )
        row = conn.execute(_plan_query().where(plans.c.slug == slug)).one()
    return _plan(row)


def withdraw(db: Database, principal: Principal, slug: str) -> None:
    """Take the plan off line: it is no longer readable or open to comments for anyone."""
    row = _authorised(db, principal, slug, Action.delete)
    with db.begin() as conn:
        conn.execute(
            update(plans).where(plans.c.id == row.id).values(withdrawn_at=clock_of(conn).now())
        )
        record(conn, acted(principal, "plan.withdraw", f"plan:{slug}"))


def organisation_plans(db: Database, principal: Principal) -> list[Plan]:
    """The plans of the principal's organisation, newest first (withdrawn ones included)."""
    with db.read() as conn:
        rows = conn.execute(
            _plan_query()
            .where(plans.c.owner_org_id == principal.org.id)
            .order_by(plans.c.published_at.desc(), plans.c.id.desc())
        ).all()
    return [_plan(row) for row in rows if _may(principal, row, Action.read)]


def _may(principal: Principal, row: Any, action: Action) -> bool:
    return decide(principal, action, _resource(row)).allowed


def _twin(conn: Connection, row: Any) -> Twin:
    return get_twin(conn, row.twin)


def effects(db: Database, row: Any) -> list[Effect]:
    """What the plan changes against its base, object by object."""
    diff = core_scenarios.diff(db, row.twin, row.base_scenario, row.scenario)
    out: list[Effect] = []
    for change, objects in (
        ("added", diff.added),
        ("modified", diff.modified),
        ("removed", diff.removed),
    ):
        for obj in objects:
            attributes = [{"name": a.name, "old": a.old, "new": a.new} for a in obj.attributes]
            out.append(
                Effect(change, obj.object_id, obj.object_type, attributes, obj.geometry_changed)
            )
    return out


def _comments(conn: Connection, plan_id: int, statuses: tuple[CommentStatus, ...]) -> list[Comment]:
    rows = conn.execute(
        select(plan_comments)
        .where(plan_comments.c.plan_id == plan_id)
        .where(plan_comments.c.status.in_([s.value for s in statuses]))
        .order_by(plan_comments.c.created_at, plan_comments.c.id)
    ).all()
    return [
        Comment(
            id=r.id,
            pseudonym=r.pseudonym,
            body=r.body,
            object_id=r.object_id,
            longitude=r.longitude,
            latitude=r.latitude,
            status=CommentStatus(r.status),
            created_at=r.created_at,
            moderated_by=r.moderated_by,
            moderation_note=r.moderation_note,
        )
        for r in rows
    ]


def plan_page(db: Database, principal: Principal, slug: str) -> PlanPage:
    """A published plan as everyone sees it: the plan, its effects, the approved comments."""
    row = _authorised(db, principal, slug, Action.read)
    with db.read() as conn:
        shown = _comments(conn, row.id, (CommentStatus.approved,))
    return PlanPage(_plan(row), effects(db, row), shown)


def plan_json(page: PlanPage) -> dict[str, Any]:
    plan = page.plan
    return {
        "slug": plan.slug,
        "title": plan.title,
        "summary": plan.summary,
        "twin": plan.twin,
        "scenario": plan.scenario,
        "base_scenario": plan.base_scenario,
        "organisation": plan.organisation,
        "published_at": plan.published_at.isoformat(),
        "comments_open": plan.comments_open,
        "effects": [
            {
                "change": e.change,
                "id": e.object_id,
                "type": e.object_type,
                "attributes": e.attributes,
                "geometry_changed": e.geometry_changed,
            }
            for e in page.effects
        ],
        "comments": [comment_json(c) for c in page.comments],
    }


def comment_json(comment: Comment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": comment.id,
        "pseudonym": comment.pseudonym,
        "body": comment.body,
        "status": comment.status.value,
        "created_at": comment.created_at.isoformat(),
    }
    if comment.object_id is not None:
        out["object_id"] = comment.object_id
    if comment.longitude is not None and comment.latitude is not None:
        out["position"] = [comment.longitude, comment.latitude]
    if comment.moderation_note:
        out["moderation_note"] = comment.moderation_note
    return out


def tileset_json(db: Database, principal: Principal, slug: str) -> tuple[bytes, str]:
    """The plan's scenario as 3D Tiles, for whoever may read the plan."""
    row = _authorised(db, principal, slug, Action.read)
    with db.read(snapshot=False) as conn:
        twin = _twin(conn, row)
    return tiles_service.scenario_tileset(db, principal, twin, row.scenario, None)


def tile_content(db: Database, principal: Principal, slug: str, key: str) -> tuple[bytes, str]:
    row = _authorised(db, principal, slug, Action.read)
    with db.read(snapshot=False) as conn:
        twin = _twin(conn, row)
    return tiles_service.scenario_tile(db, principal, twin, row.scenario, key, None)


def _names_an_object(db: Database, row: Any, object_id: str) -> bool:
    """Whether a comment may be about ``object_id``: an object of the plan's scenario (one
    indexed look-up), or one the plan removes (only then the whole diff is worked out)."""
    with db.read() as conn:
        shown = view_of(conn, get_scenario(conn, _twin(conn, row), row.scenario))
        if resolve(conn, shown, [object_id]):
            return True
    return any(e.object_id == object_id for e in effects(db, row) if e.change == "removed")


def comment(
    db: Database,
    principal: Principal,
    slug: str,
    *,
    body: str,
    pseudonym: str | None = None,
    object_id: str | None = None,
    position: tuple[float, float] | None = None,
) -> Comment:
    """A resident's comment on a published plan, held for moderation."""
    row = _authorised(db, principal, slug, Action.create)
    body = _text(body, "comment", MAX_COMMENT)
    name = _text(pseudonym or "", "pseudonym", MAX_PSEUDONYM, required=False)
    if position is not None:
        longitude, latitude = position
        if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
            raise InvalidInput(f"position: {position} is not a longitude and latitude")
    if object_id is not None and not _names_an_object(db, row, object_id):
        raise InvalidInput(f"object_id: the plan has no object {object_id!r}")
    with db.begin() as conn:
        now = clock_of(conn).now()
        new_id = conn.execute(
            insert(plan_comments)
            .values(
                plan_id=row.id,
                pseudonym=name,
                body=body,
                object_id=object_id,
                longitude=position[0] if position else None,
                latitude=position[1] if position else None,
                status=CommentStatus.pending.value,
                created_at=now,
            )
            .returning(plan_comments.c.id)
        ).scalar_one()
    return Comment(
        new_id,
        name,
        body,
        object_id,
        position[0] if position else None,
        position[1] if position else None,
        CommentStatus.pending,
        now,
    )


def comments_for_moderation(
    db: Database, principal: Principal, slug: str, status: CommentStatus | None = None
) -> list[Comment]:
    """Every comment on the plan (or those with ``status``), for its organisation."""
    row = _authorised(db, principal, slug, Action.update)
    wanted = (status,) if status else tuple(CommentStatus)
    with db.read() as conn:
        return _comments(conn, row.id, wanted)


def moderate(
    db: Database,
    principal: Principal,
    slug: str,
    comment_id: int,
    decision: Moderation,
    note: str | None = None,
) -> Comment:
    """Approve a comment (it is shown) or hide it (with a note why); decisions may change."""
    row = _authorised(db, principal, slug, Action.update)
    note = _text(note or "", "note", 500, required=False) or None
    with db.begin() as conn:
        found = conn.execute(
            update(plan_comments)
            .where(plan_comments.c.id == comment_id, plan_comments.c.plan_id == row.id)
            .values(
                status=_DECIDED[decision].value,
                moderated_by=principal.email,
                moderated_at=clock_of(conn).now(),
                moderation_note=note,
            )
        ).rowcount
        if not found:
            raise NotFound(f"plan {slug!r} has no comment {comment_id}")
        record(
            conn,
            acted(
                principal,
                "plan.moderate",
                f"plan:{slug}",
                {"comment": comment_id, "decision": decision.value},
            ),
        )
        decided = _comments(conn, row.id, (_DECIDED[decision],))
    return next(c for c in decided if c.id == comment_id)
