"""The accreditation desk: the queue of versions on their way into the store, and one
version's assessment — the automated checks with their evidence, a scoring form per
dimension of the criteria framework, the conflict-of-interest rule, and the market master's
decision.

The desk is for reviewers of accreditor organisations and for the market master. The page
reads through ``services.accreditation`` (the policy point decides who may see and score a
version); the forms call the store's JSON API (``desk.js``)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import Forbidden, Unauthenticated
from tweeling.services import accreditation as accreditation_service
from tweeling.services.access import OrgKind, Role
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate

# The queue's next steps as services.accreditation_report words them, marked here so that
# the desk shows them in the visitor's language.
NEXT_STEPS = (
    i18n.N_("the market master runs the automated checks"),
    i18n.N_("the market master rejects it (failed checks)"),
    i18n.N_("the market master assigns accreditors"),
    i18n.N_("the accreditors score every criterion"),
    i18n.N_("the market master decides"),
)
DIMENSION_TITLES = {
    "ethical": i18n.N_("Ethical"),
    "legal": i18n.N_("Legal"),
    "social": i18n.N_("Social"),
    "economic": i18n.N_("Economic"),
    "technical": i18n.N_("Technical"),
    "management": i18n.N_("Management"),
}


def section() -> Section:
    return Section(
        name="desk",
        routes=routes,
        nav=(NavItem(i18n.N_("Accreditation desk"), "/studio/desk", order=70, shown_to=at_desk),),
    )


def at_desk(visitor: Visitor) -> bool:
    """Reviewers of an accreditor and the market master's people work at the desk."""
    if not visitor.signed_in:
        return False
    return visitor.has(Role.reviewer) or visitor.principal.org.kind == OrgKind.market_master


def _admitted(visitor: Visitor) -> None:
    if not visitor.signed_in:
        raise Unauthenticated("sign in to work at the accreditation desk")
    if not at_desk(visitor):
        raise Forbidden(
            "the accreditation desk is for accreditors' reviewers and the market master"
        )


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/desk")
    def queue(request: Request, db: DB, visitor: Seen) -> Response:
        _admitted(visitor)
        return render(
            request,
            visitor,
            "studio/desk_queue.html",
            title=translate(visitor.language, "Accreditation desk"),
            queue=accreditation_service.queue(db, visitor.principal),
        )

    @router.get("/studio/desk/{app}/{version}")
    def assessment(request: Request, app: str, version: str, db: DB, visitor: Seen) -> Response:
        _admitted(visitor)
        report = accreditation_service.desk_report(db, visitor.principal, f"{app}@{version}")
        framework = accreditation_service.framework(report["framework"]["version"])
        return render(
            request,
            visitor,
            "studio/desk_version.html",
            title=f"{app} {version}",
            crumbs=[
                {"href": "/studio/desk", "title": translate(visitor.language, "Accreditation desk")}
            ],
            report=report,
            dimensions=_dimensions(report, framework),
            scale=framework.scale,
        )

    return router


def _dimensions(report: dict[str, Any], framework: Any) -> list[dict[str, Any]]:
    """The report's criteria grouped by dimension, each with its guidance and the evidence
    the framework asks for (the report leaves those out), in the framework's order."""
    scored = {c["id"]: c for c in report["criteria"]}
    return [
        {
            "id": dimension,
            "title": DIMENSION_TITLES.get(dimension, dimension),
            "criteria": [
                {
                    **scored[c.id],
                    "guidance": c.guidance,
                    "asks": c.evidence,
                    "check": c.check,
                }
                for c in criteria
                if c.id in scored
            ],
        }
        for dimension, criteria in framework.by_dimension().items()
        if criteria
    ]
