"""Participation: publishing a scenario as a plan, the public plan, residents' comments and
their moderation (``/plans``), and the plan's scenario as 3D Tiles for everyone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from tweeling.api.deps import DB, Caller, RowId, SignedIn
from tweeling.api.parts import PLATFORM, ApiPart, Link
from tweeling.api.tiles import GLB, TILESET, Index, respond_cached
from tweeling.services import plans as service
from tweeling.services.plans import CommentStatus, Moderation

router = APIRouter(tags=["participation"])


def part() -> ApiPart:
    return ApiPart(
        name="plans",
        router=router,
        landing=PLATFORM,
        links=(Link("plans", "/plans", "application/json", "Plans published for participation"),),
        tags={"participation": "Plans published for comments, and their moderation"},
    )


class NewPlan(BaseModel):
    title: str = Field(min_length=1, max_length=service.MAX_TITLE)
    summary: str = Field(min_length=1, max_length=service.MAX_SUMMARY)
    base_scenario: str = "current"
    comments_open: bool = True


class NewComment(BaseModel):
    body: str = Field(min_length=1, max_length=service.MAX_COMMENT)
    pseudonym: str | None = Field(default=None, max_length=service.MAX_PSEUDONYM)
    object_id: str | None = Field(default=None, max_length=200)
    position: tuple[float, float] | None = None


class ModerationDecision(BaseModel):
    decision: Moderation
    note: str | None = Field(default=None, max_length=500)


def _plan(plan: service.Plan) -> dict[str, Any]:
    return {
        "slug": plan.slug,
        "title": plan.title,
        "twin": plan.twin,
        "scenario": plan.scenario,
        "base_scenario": plan.base_scenario,
        "organisation": plan.organisation,
        "comments_open": plan.comments_open,
        "published_by": plan.published_by,
        "published_at": plan.published_at.isoformat(),
        "withdrawn": plan.withdrawn,
        "links": [{"rel": "self", "href": f"/plans/{plan.slug}"}],
    }


@router.post(
    "/twins/{name}/scenarios/{scenario}/plan",
    status_code=201,
    summary="Publish a scenario as a plan everyone may read and comment on",
)
def publish(name: str, scenario: str, body: NewPlan, db: DB, caller: SignedIn) -> dict[str, Any]:
    plan = service.publish(
        db,
        caller,
        name,
        scenario,
        title=body.title,
        summary=body.summary,
        base_scenario=body.base_scenario,
        comments_open=body.comments_open,
    )
    return _plan(plan)


@router.get("/plans", summary="Your organisation's plans (published and withdrawn)")
def organisation_plans(db: DB, caller: SignedIn) -> dict[str, Any]:
    return {"plans": [_plan(p) for p in service.organisation_plans(db, caller)]}


@router.get("/plans/{slug}", summary="A published plan: its effects and approved comments")
def plan(slug: str, db: DB, caller: Caller) -> dict[str, Any]:
    return service.plan_json(service.plan_page(db, caller, slug))


@router.delete("/plans/{slug}", status_code=204, summary="Withdraw a plan")
def withdraw(slug: str, db: DB, caller: SignedIn) -> Response:
    service.withdraw(db, caller, slug)
    return Response(status_code=204)


@router.post(
    "/plans/{slug}/comments",
    status_code=202,
    summary="Comment on a plan (anyone; shown once the organisation approves it)",
)
def comment(slug: str, body: NewComment, db: DB, caller: Caller) -> dict[str, Any]:
    made = service.comment(
        db,
        caller,
        slug,
        body=body.body,
        pseudonym=body.pseudonym,
        object_id=body.object_id,
        position=body.position,
    )
    return service.comment_json(made)


@router.get("/plans/{slug}/comments", summary="Comments for moderation (the organisation)")
def comments(
    slug: str,
    db: DB,
    caller: SignedIn,
    status: Annotated[CommentStatus | None, Query()] = None,
) -> dict[str, Any]:
    found = service.comments_for_moderation(db, caller, slug, status)
    return {"comments": [service.comment_json(c) for c in found]}


@router.post(
    "/plans/{slug}/comments/{comment_id}/moderation",
    summary="Approve or hide a comment",
)
def moderate(
    slug: str, comment_id: RowId, body: ModerationDecision, db: DB, caller: SignedIn
) -> dict[str, Any]:
    decided = service.moderate(db, caller, slug, comment_id, body.decision, body.note)
    return service.comment_json(decided)


@router.get(
    "/plans/{slug}/3dtiles/tileset.json",
    summary="The plan's scenario as 3D Tiles 1.1",
    response_class=Response,
)
def tileset(request: Request, slug: str, db: DB, caller: Caller) -> Response:
    body, tag = service.tileset_json(db, caller, slug)
    return respond_cached(request, body, TILESET, tag)


@router.get(
    "/plans/{slug}/3dtiles/tiles/{level}/{x}/{y}.glb",
    summary="One tile of the plan's scenario",
    response_class=Response,
)
def tile(
    request: Request, slug: str, level: Index, x: Index, y: Index, db: DB, caller: Caller
) -> Response:
    body, tag = service.tile_content(db, caller, slug, f"{level}/{x}/{y}")
    return respond_cached(request, body, GLB, tag)
