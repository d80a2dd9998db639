"""Participation pages: the organisation's plans (publish one), the public plan page (the
plan in 3D, its effects in plain language, comments and a privacy notice) and moderation.

The public page needs no account: it reads through ``services.plans``, whose policy
decision opens exactly the published scenario. The comment form posts to the API
(``POST /plans/{slug}/comments``), like every change a page makes."""

# No `from __future__ import annotations`: the routes are made inside a factory, and FastAPI
# must see their annotations as objects, not as names it cannot resolve outside it.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import Unauthenticated
from tweeling.services import plans as plans_service
from tweeling.services import twins as twins_service
from tweeling.services.plans import CommentStatus, Effect
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate

# The attributes whose change a resident reads as the building's size.
HEIGHT_ATTRIBUTES = ("measuredHeight", "height", "h_dak_max", "b3_h_dak_max")


def section() -> Section:
    return Section(
        name="plans",
        routes=routes,
        nav=(
            NavItem(
                i18n.N_("Plans"),
                "/studio/plans",
                order=60,
                shown_to=lambda visitor: visitor.signed_in,
            ),
        ),
    )


def effect_line(effect: Effect) -> dict[str, Any]:
    """An effect as a template shows it: which message and its values."""
    heights = [a for a in effect.attributes if a["name"] in HEIGHT_ATTRIBUTES]
    changed = [a for a in effect.attributes if a["name"] not in HEIGHT_ATTRIBUTES]
    return {
        "change": effect.change,
        "id": effect.object_id,
        "type": effect.object_type,
        "height": heights[0] if heights else None,
        "others": changed,
        "shape": effect.geometry_changed,
    }


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/plans")
    def plans(request: Request, db: DB, visitor: Seen) -> Response:
        if not visitor.signed_in:
            raise Unauthenticated("sign in to see your organisation's plans")
        summaries = twins_service.twin_summaries(db, visitor.principal)
        own = [s for s in summaries if s.twin.owner_org_id == visitor.principal.org.id]
        return render(
            request,
            visitor,
            "studio/plans.html",
            title=translate(visitor.language, "Plans"),
            plans=plans_service.organisation_plans(db, visitor.principal),
            twins=own,
        )

    @router.get("/studio/plans/{slug}")
    def plan(request: Request, slug: str, db: DB, visitor: Seen) -> Response:
        page = plans_service.plan_page(db, visitor.principal, slug)
        return render(
            request,
            visitor,
            "studio/plan.html",
            title=page.plan.title,
            plan=page.plan,
            effects=[effect_line(e) for e in page.effects],
            comments=page.comments,
            may_moderate=visitor.signed_in and page.plan.organisation == visitor.organisation,
        )

    @router.get("/studio/plans/{slug}/moderation")
    def moderation(request: Request, slug: str, db: DB, visitor: Seen) -> Response:
        if not visitor.signed_in:
            raise Unauthenticated("sign in to moderate your organisation's plans")
        everything = plans_service.comments_for_moderation(db, visitor.principal, slug)
        page = plans_service.plan_page(db, visitor.principal, slug)
        by_status = {s: [c for c in everything if c.status == s] for s in CommentStatus}
        return render(
            request,
            visitor,
            "studio/plan_moderation.html",
            title=translate(visitor.language, "Moderation"),
            plan=page.plan,
            pending=by_status[CommentStatus.pending],
            approved=by_status[CommentStatus.approved],
            hidden=by_status[CommentStatus.hidden],
            crumbs=[{"href": f"/studio/plans/{slug}", "title": page.plan.title}],
        )

    return router
