"""The publisher portal: a provider's apps and their versions with where each stands,
the accreditation as it goes (checks, scores so far, the next step), the reviews of its
apps with a form to answer them, its organisation's notices, and publishing a new version
(the signed .twapp file is sent as the request body to ``POST /store/apps``, by desk.js)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import Forbidden, Unauthenticated
from tweeling.services import accreditation as accreditation_service
from tweeling.services import store as store_service
from tweeling.services.access import Role
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate


def section() -> Section:
    return Section(
        name="publisher",
        routes=routes,
        nav=(NavItem(i18n.N_("Publish"), "/studio/publish", order=75, shown_to=publishes),),
    )


def publishes(visitor: Visitor) -> bool:
    """Developers of a provider organisation publish apps."""
    return visitor.signed_in and visitor.has(Role.developer)


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/publish")
    def portal(request: Request, db: DB, visitor: Seen) -> Response:
        if not visitor.signed_in:
            raise Unauthenticated("sign in to publish apps")
        if not publishes(visitor):
            raise Forbidden("the publisher portal is for developers of a provider organisation")
        principal = visitor.principal
        underway = {
            (item["app"], item["version"]): item
            for item in accreditation_service.queue(db, principal)
        }
        apps: list[dict[str, Any]] = []
        for listing in store_service.published_by(db, principal):
            found, mean = store_service.reviews_of(db, principal, listing.app_id)
            apps.append(
                {
                    "id": listing.app_id,
                    "versions": [
                        {"version": v, "underway": underway.get((v.app_id, v.version))}
                        for v in listing.versions
                    ],
                    "reviews": [r.as_json() for r in found],
                    "mean_rating": mean,
                }
            )
        return render(
            request,
            visitor,
            "studio/publisher_portal.html",
            title=translate(visitor.language, "Publish"),
            apps=apps,
            notices=store_service.notices(db, principal),
        )

    return router
