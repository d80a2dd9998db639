"""The Studio's home page (``/`` in a browser) and the language switch.

The home page shows the visitor's twins, the store's accredited apps by use case and the
most recent runs on the twins the visitor may see, each with its status."""

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from tweeling.services import apps as apps_service
from tweeling.services import twins as twins_service
from tweeling.services.access import Principal
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, language_of, render, translate

RECENT_RUNS = 8
ONE_YEAR = 365 * 24 * 3600


def section() -> Section:
    return Section(
        name="home",
        routes=routes,
        nav=(NavItem(i18n.N_("Home"), "/", order=0),),
    )


def local_path(target: str | None) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirects: not
    ``//evil.example``, not ``https://…``, not a backslash trick)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()

    @router.get("/favicon.ico")
    def favicon() -> Response:
        # browsers ask for it on every origin's first page, JSON answers included
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @router.get("/studio")
    def studio_root() -> Response:
        return RedirectResponse("/", status_code=303)

    @router.get("/studio/language")
    def choose_language(
        to: Annotated[str, Query(pattern="^(nl|en)$")], next: str | None = None
    ) -> Response:
        response = RedirectResponse(local_path(next), status_code=303)
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, to, max_age=ONE_YEAR, samesite="lax", httponly=True
        )
        return response

    return router


def home_page(
    request: Request, db: Database, principal: Principal, listing: dict[str, Any]
) -> Response:
    """The home page for ``principal`` (called by the ``platform-landing`` HTML view)."""
    session = getattr(request.state, "session_caller", None)
    visitor = Visitor(
        principal=principal,
        csrf_token=session.csrf_token if session is not None else None,
        language=language_of(request),
        path="/",
    )
    summaries = twins_service.twin_summaries(db, principal)
    recent = apps_service.list_runs(db, principal, None, limit=RECENT_RUNS) if summaries else []
    return render(
        request,
        visitor,
        "studio/home.html",
        title=translate(visitor.language, "Home"),
        twins=summaries,
        use_cases=listing["use_cases"],
        runs=recent,
    )
