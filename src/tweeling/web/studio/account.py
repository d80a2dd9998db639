"""Signing in, and the person's own account: organisations and roles, two-step verification,
and for an organisation's administrators its API tokens, its members and links to the use
of its twins' data (``owners.py``).

The pages change nothing themselves: ``account.js`` calls ``/auth/login``, ``/auth/totp``,
``/auth/totp/confirm``, ``/organisations/{name}/tokens`` and ``/organisations/{name}/members``.
The one thing drawn here is the QR code of a new two-step secret (``POST /studio/account/qr``):
segno turns the ``otpauth://`` URI the API gave the browser into an SVG; the secret is never
stored or logged by this endpoint, and the page gives it as text too (the QR's alternative).
"""

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from tweeling.errors import InvalidInput, Unauthenticated
from tweeling.services import accounts
from tweeling.services import organisations as organisations_service
from tweeling.services import twins as twins_service
from tweeling.services.access import Role
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.home import local_path
from tweeling.web.studio.layout import Visitor, render, translate

ROLES = tuple(role.value for role in Role)
MAX_URI = 512


def section() -> Section:
    return Section(
        name="account",
        routes=routes,
        nav=(
            NavItem(
                i18n.N_("Account"),
                "/studio/account",
                order=90,
                shown_to=lambda visitor: visitor.signed_in,
            ),
        ),
    )


class OtpauthUri(BaseModel):
    otpauth_uri: str = Field(max_length=MAX_URI)


def qr_data_uri(uri: str) -> str:
    """The QR code of a ``otpauth://`` URI as an SVG ``data:`` URI (for an ``<img>``)."""
    if not uri.startswith("otpauth://totp/"):
        raise InvalidInput("otpauth_uri: give the otpauth://totp/… URI that POST /auth/totp gave")
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/sign-in")
    def sign_in(request: Request, visitor: Seen, next: str | None = None) -> Response:
        return render(
            request,
            visitor,
            "studio/sign_in.html",
            title=translate(visitor.language, "Sign in"),
            next=local_path(next),
        )

    @router.get("/studio/account")
    def account_page(request: Request, db: DB, visitor: Seen, next: str | None = None) -> Response:
        if not visitor.signed_in:
            raise_sign_in()
        mine = accounts.account(db, visitor.principal)
        context: dict[str, Any] = {"account": mine, "next": local_path(next), "roles": ROLES}
        pending = visitor.principal.second_factor_pending
        if visitor.has(Role.admin) and not pending:
            org = visitor.principal.org.name
            context["tokens"] = accounts.tokens(db, visitor.principal, org)
            context["members"] = organisations_service.members(db, visitor.principal, org)
            context["own_twins"] = [
                summary.twin
                for summary in twins_service.twin_summaries(db, visitor.principal)
                if summary.twin.owner_org_id == visitor.principal.org.id
            ]
        return render(
            request,
            visitor,
            "studio/account_page.html",
            title=translate(visitor.language, "Your account"),
            pending=pending,
            **context,
        )

    @router.post("/studio/account/qr")
    def account_qr(body: OtpauthUri, visitor: Seen) -> dict[str, str]:
        if not visitor.signed_in:
            raise_sign_in()
        return {"data_uri": qr_data_uri(body.otpauth_uri)}

    return router


def raise_sign_in() -> None:
    """A page for a signed-in person, asked for by nobody: the sign-in page (errors.py)."""
    raise Unauthenticated("sign in first")
