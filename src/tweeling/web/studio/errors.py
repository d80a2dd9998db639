"""Errors on Studio pages: the same status, code and message as the API's problem details,
as a page a person reads (in the visitor's language), or — for a page that needs a signed-in
visitor — the sign-in page, which sends them back afterwards."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from tweeling.services.access import ANONYMOUS
from tweeling.web.i18n import N_
from tweeling.web.studio.layout import Visitor, language_of, render, translate

STUDIO_PREFIX = "/studio"
_TITLES = {
    400: N_("This request cannot be answered"),
    401: N_("Sign in first"),
    403: N_("You may not see this"),
    404: N_("Not found"),
    409: N_("That conflicts with the current state"),
    413: N_("Too large"),
    429: N_("Too many requests"),
}
_OTHER = N_("Something went wrong")


def is_studio_page(request: Request) -> bool:
    return request.url.path == STUDIO_PREFIX or request.url.path.startswith(STUDIO_PREFIX + "/")


def studio_error(request: Request, status: int, code: str, message: str) -> Response:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/studio/sign-in?next={quote(path, safe='')}", status_code=303)
    session = getattr(request.state, "session_caller", None)
    visitor = Visitor(
        principal=session.principal if session is not None else ANONYMOUS,
        csrf_token=session.csrf_token if session is not None else None,
        language=language_of(request),
        path=path,
    )
    title = translate(visitor.language, _TITLES.get(status, _OTHER))
    return render(
        request,
        visitor,
        "studio/error.html",
        title=title,
        status=status,
        code=code,
        message=message,
    )
