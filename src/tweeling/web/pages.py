"""HTML rendering of API responses (Jinja2, autoescaped), chosen by ``f=html`` or Accept."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tweeling.store.federation import http_url

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
# A link taken from another store's record is linked only when it is a plain http(s) URL
# (autoescaping stops markup, not a javascript: href); otherwise it is shown as text.
_env.filters["http_href"] = lambda value: http_url(value) or ""


# The JSON forms the API answers in: a client that asks for any of them is not a browser.
JSON_TYPES = (
    "application/json",
    "application/geo+json",
    "application/city+json",
    "application/schema+json",
)
HTML = "text/html"


@dataclass(frozen=True)
class _Range:
    """One media range of an Accept header: ``type/subtype`` (either may be ``*``), its
    parameters other than the weight, and the weight ``q`` (RFC 9110, section 12.5.1)."""

    type: str
    subtype: str
    params: frozenset[tuple[str, str]]
    q: float

    def specificity(self, media_type: str) -> int | None:
        """How closely this range names ``media_type`` (higher is closer; None: not at all)."""
        main, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" and not self.params else None
        if self.type != main:
            return None
        if self.subtype == "*":
            return 1 if not self.params else None
        if self.subtype != sub:
            return None
        # The types we offer carry no parameters, so a range that names some
        # ("text/html;level=1") is about a different representation.
        return 2 if not self.params else None


_QVALUE = re.compile(r"^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$")


def _ranges(accept: str) -> list[_Range]:
    """The media ranges of an Accept header; a malformed one is skipped, not guessed at."""
    ranges = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        main, slash, sub = media.lower().partition("/")
        if not slash or not main or not sub or (main == "*" and sub != "*"):
            continue
        q, others, ok = 1.0, set(), True
        for param in params:
            name, eq, value = (x.strip() for x in param.partition("="))
            if not eq or not name:
                ok = False
                break
            if name.lower() == "q":
                if not _QVALUE.match(value):
                    ok = False
                    break
                q = float(value)
                break  # what follows q are accept extensions, not media type parameters
            others.add((name.lower(), value.strip('"').lower()))
        if ok:
            ranges.append(_Range(main, sub, frozenset(others), q))
    return ranges


def negotiate(request: Request, offered: Sequence[str]) -> str | None:
    """The media type from ``offered`` that the request's Accept header prefers (RFC 9110,
    section 12.5.1), or None when it accepts none of them.

    Each offered type takes the weight of the most specific range that matches it (so
    ``text/html;q=0, */*`` refuses HTML and accepts the rest). The highest weight wins; on a
    tie, the type the client named over one it reached by a wildcard, then the server's order
    in ``offered``. No Accept header, or one without a usable range, accepts anything.
    """
    accept = ", ".join(request.headers.getlist("accept")).strip()
    ranges = _ranges(accept) if accept else []
    if not ranges:
        return offered[0] if offered else None
    best: tuple[float, int, int] | None = None
    chosen = None
    for order, media_type in enumerate(offered):
        matches = [(s, r.q) for r in ranges if (s := r.specificity(media_type.lower())) is not None]
        if not matches:
            continue
        specificity, q = max(matches, key=lambda m: m[0])
        # Several ranges equally specific (a repeated type): the highest weight counts.
        q = max(w for s, w in matches if s == specificity)
        if q <= 0:
            continue
        rank = (q, specificity, -order)
        if best is None or rank > best:
            best, chosen = rank, media_type
    return chosen


def page(template: str, **context: Any) -> HTMLResponse:
    from tweeling.web.security import page_headers

    return HTMLResponse(_env.get_template(template).render(**context), headers=page_headers())
