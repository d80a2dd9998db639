"""One error shape for every part: RFC 9457 problem details, rendered by one function.

Every 4xx and 5xx answer is ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail`` (RFC 9457), plus ``instance`` (the request's path) where the error
came from a request. The platform's stable ``code`` and the ``message`` a person reads stay
as extension members, so clients written against the older ``{"code", "message"}`` shape
keep working. OGC API exceptions (Processes: ``job-failed``, ``result-not-ready``) are the
same shape with an OGC exception URI as ``type``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tweeling.errors import TweelingError
from tweeling.web.studio.errors import is_studio_page, studio_error

log = logging.getLogger("tweeling.api")

PROBLEM_JSON = "application/problem+json"
# "about:blank": the problem means no more than its HTTP status (RFC 9457, section 4.2.1);
# what kind of problem it is, in the platform's words, is the ``code`` member.
BLANK = "about:blank"
OGC_PROCESSES_EXCEPTION = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


def problem(
    status: int,
    code: str,
    message: str,
    *,
    type: str = BLANK,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """The one rendering of an error: problem details with ``code`` and ``message`` kept.

    ``title`` defaults to the status's reason phrase, as RFC 9457 asks for ``about:blank``;
    ``extensions`` are further members (an OGC job's ``jobID``)."""
    body: dict[str, Any] = {
        "type": type,
        "title": title or _phrase(status),
        "status": status,
        "detail": message,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    body["code"] = code
    body["message"] = message
    response = JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error as problem details, or as a page when a person asked for a Studio page
    (the same status, code and message: rendered once, in the form the asker reads)."""
    if is_studio_page(request):
        return studio_error(request, status, code, message)
    return problem(status, code, message, instance=request.url.path, headers=headers)


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(TweelingError)
    async def tweeling_error(request: Request, exc: TweelingError) -> Response:
        return answer(request, exc.http_status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            loc = list(err.get("loc", ()))
            if loc[:1] == ["body"]:  # the request body itself; a field may be named "body" too
                loc = loc[1:]
            where = ".".join(str(p) for p in loc)
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        message = "; ".join(parts) or "invalid request"
        return answer(request, 400, "invalid-request", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return answer(request, exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(DataError)
    async def bad_value(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value it was handed (a NUL character, a number out of
        # range): that came from the request, so it is the caller's error, not ours.
        log.info("database refused a value: %s", exc.orig)
        message = "a value in the request cannot be stored or searched"
        return problem(400, "invalid-value", message, instance=request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        message = "something went wrong on our side; it has been logged"
        return answer(request, 500, "internal-error", message)
