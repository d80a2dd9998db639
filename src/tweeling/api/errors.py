"""Errors as JSON with a stable code and a message a person understands — one handler each."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tweeling.errors import TweelingError

log = logging.getLogger("tweeling.api")


def problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(TweelingError)
    async def tweeling_error(_: Request, exc: TweelingError) -> JSONResponse:
        response = problem(exc.http_status, exc.code, exc.message)
        if exc.http_status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return problem(400, "invalid-request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(DataError)
    async def bad_value(_: Request, exc: DataError) -> JSONResponse:
        # The database refused a value it was handed (a NUL character, a number out of
        # range): that came from the request, so it is the caller's error, not ours.
        log.info("database refused a value: %s", exc.orig)
        return problem(400, "invalid-value", "a value in the request cannot be stored or searched")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(
            500, "internal-error", "something went wrong on our side; it has been logged"
        )
