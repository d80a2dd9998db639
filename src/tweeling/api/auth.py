"""Signing in and out, and two-step verification, for people in a browser."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from tweeling.access import oidc, sessions
from tweeling.api.deps import DB, SESSION_COOKIE, SignedIn, client_address, session_caller
from tweeling.api.parts import PLATFORM, ApiPart
from tweeling.api.ratelimit import sign_in_limits
from tweeling.errors import Unauthenticated

router = APIRouter(prefix="/auth", tags=["sign-in"])


def part() -> ApiPart:
    return ApiPart(
        name="auth",
        router=router,
        landing=PLATFORM,
        tags={"sign-in": "Sign-in with a password, two-step verification or OpenID Connect"},
    )


class Login(BaseModel):
    email: str
    password: str
    totp: str | None = Field(None, description="code from the authenticator app, if enabled")
    organisation: str | None = Field(None, description="needed when you belong to several")


@router.post("/login", summary="Sign in; sets the session cookie, returns the CSRF token")
def login(body: Login, response: Response, request: Request, db: DB) -> dict[str, Any]:
    sign_in_limits(request.app.state).hit(client_address(request), body.email)
    signed_in = sessions.login(
        db, body.email, body.password, totp=body.totp, organisation=body.organisation
    )
    return _signed_in_response(request, response, signed_in)


def _signed_in_response(
    request: Request, response: Response, signed_in: sessions.SignedIn
) -> dict[str, Any]:
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session,
        max_age=int(sessions.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=request.app.state.cookie_secure,
        samesite="lax",
        path="/",
    )
    principal = signed_in.principal
    return {
        "email": principal.email,
        "organisation": principal.org.name,
        "roles": sorted(r.value for r in principal.roles),
        "csrf_token": signed_in.csrf_token,
        "second_factor_required": principal.second_factor_pending,
    }


@router.post("/logout", status_code=204, summary="Sign out")
def logout(db: DB, session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None) -> Response:
    if session is None:
        raise Unauthenticated("you are not signed in")
    sessions.logout(db, session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/totp", summary="Start two-step verification: returns the secret to scan")
def totp_start(db: DB, caller: SignedIn) -> dict[str, str]:
    secret, uri = sessions.start_totp(db, caller)
    return {"secret": secret, "otpauth_uri": uri}


class Code(BaseModel):
    code: str


@router.post("/totp/confirm", summary="Confirm two-step verification with a first code")
def totp_confirm(body: Code, request: Request, db: DB, caller: SignedIn) -> dict[str, bool]:
    current = session_caller(request)
    sessions.confirm_totp(db, caller, body.code, current.session_id if current else None)
    return {"two_step_verification": True}


@router.post("/totp/disable", summary="Turn two-step verification off")
def totp_disable(body: Code, db: DB, caller: SignedIn) -> dict[str, bool]:
    sessions.disable_totp(db, caller, body.code)
    return {"two_step_verification": False}


def _oidc(request: Request) -> tuple[oidc.OIDCSettings, oidc.Provider]:
    settings: oidc.OIDCSettings = request.app.state.oidc_settings
    provider: oidc.Provider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        provider = oidc.discover(settings)
        request.app.state.oidc_provider = provider
    return settings, provider


@router.get("/oidc/login", summary="Sign in with the external identity provider (redirect)")
def oidc_login(request: Request, db: DB, organisation: str | None = None) -> RedirectResponse:
    settings, provider = _oidc(request)
    redirect_uri = str(request.url_for("oidc_callback"))
    url = oidc.start(db, settings, provider, redirect_uri, organisation)
    return RedirectResponse(url, status_code=302)


@router.get("/oidc/callback", summary="Where the identity provider sends the browser back")
def oidc_callback(
    request: Request, response: Response, db: DB, code: str, state: str
) -> dict[str, Any]:
    settings, provider = _oidc(request)
    redirect_uri = str(request.url_for("oidc_callback"))
    signed_in = oidc.finish(db, settings, provider, redirect_uri, code, state)
    return _signed_in_response(request, response, signed_in)
