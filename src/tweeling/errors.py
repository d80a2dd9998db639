"""One error hierarchy for the whole platform.

Every error a user can cause is a :class:`TweelingError`. It carries a stable code, the
HTTP status an API answers with, and a message written for a person. The CLI maps the same
errors to exit codes in :func:`exit_code`; nothing else decides how an error is shown.
"""

from __future__ import annotations


class TweelingError(Exception):
    """Base of every user-facing error."""

    code = "error"
    http_status = 500
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(TweelingError):
    """Input data or arguments are wrong; the message says what and where."""

    code = "invalid-input"
    http_status = 400
    exit_code = 2


class InputFileError(InvalidInput):
    """A file could not be read as what it claims to be."""

    code = "invalid-file"

    def __init__(self, path: object, problem: str, object_id: str | None = None) -> None:
        where = f"{path}: object {object_id!r}: " if object_id else f"{path}: "
        super().__init__(where + problem)
        self.path = str(path)
        self.object_id = object_id
        self.problem = problem

    def __reduce__(self) -> tuple[type[InputFileError], tuple[str, str, str | None]]:
        # Raised in import worker processes and re-raised here: keep the parts when pickled.
        return (type(self), (self.path, self.problem, self.object_id))


class Unauthenticated(TweelingError):
    """No valid credentials: unknown, expired or revoked token, wrong password, locked out."""

    code = "unauthenticated"
    http_status = 401
    exit_code = 6


class Forbidden(TweelingError):
    """Known who you are, and you may see the thing, but not do this to it."""

    code = "forbidden"
    http_status = 403
    exit_code = 7


class UnsupportedMediaType(InvalidInput):
    code = "unsupported-media-type"
    http_status = 415


class TooLarge(InvalidInput):
    """A request body or an archive over a configured size cap; the message names the cap."""

    code = "too-large"
    http_status = 413


class TooManyAttempts(TweelingError):
    """Temporarily locked after too many failed sign-ins."""

    code = "too-many-attempts"
    http_status = 429
    exit_code = 8


class NotAcceptable(InvalidInput):
    """Asked for a format (``f=`` or Accept) this resource cannot be had in."""

    code = "not-acceptable"
    http_status = 406


class NotFound(TweelingError):
    code = "not-found"
    http_status = 404
    exit_code = 3


class NotEnabled(NotFound):
    """A feature this platform has not switched on (e.g. OpenID Connect sign-in)."""

    code = "not-enabled"


class Conflict(TweelingError):
    code = "conflict"
    http_status = 409
    exit_code = 4


class NotConfigured(TweelingError):
    """The platform is not set up for this yet (e.g. database not initialised)."""

    code = "not-configured"
    http_status = 503
    exit_code = 5


def exit_code(error: BaseException) -> int:
    """The process exit code for an error raised to the CLI."""
    if isinstance(error, TweelingError):
        return error.exit_code
    return 1
