"""The store's TOML documents — product pages, reference cases, criteria frameworks, review
files — read and validated one way: bad TOML or the first invalid field named with its place
(``where: field: problem``), as InvalidInput."""

from __future__ import annotations

import tomllib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tweeling.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def toml(raw: bytes | str, where: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{where}: not valid TOML: {exc}") from None


def validated(model: type[M], data: Any, where: str, whole: str) -> M:
    """``data`` as ``model``; ``whole`` names the document when the problem has no field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or whole
        raise InvalidInput(f"{where}: {field}: {first['msg']}") from None
