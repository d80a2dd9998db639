"""What every Studio page shares: who it is for, its language, its layout and its assets.

``render`` fills a template under ``web/templates/studio/`` that extends ``layout.html``: the
skip link, the main navigation of every section, the language switch, the sign-in state and
``<meta name="csrf-token">`` for the page's scripts. Scripts and styles are files built by
esbuild (``make assets``) and named in ``static/build/manifest.json`` with their content hash,
so a page never carries an inline script (the Content-Security-Policy forbids them).
"""

# No `from __future__ import annotations`: visitor_dependency makes a FastAPI dependency in a
# closure, whose annotations FastAPI must see as objects.
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tweeling import settings
from tweeling.services.access import Principal, Role
from tweeling.web import i18n
from tweeling.web.security import page_headers

WEB = Path(__file__).parent.parent
STATIC = WEB / "static"
BUILD = STATIC / "build"
STATIC_URL = "/static"


@dataclass(frozen=True)
class Visitor:
    """The person a page is rendered for (anonymous when nobody is signed in)."""

    principal: Principal
    csrf_token: str | None
    language: str
    path: str

    @property
    def signed_in(self) -> bool:
        return not self.principal.anonymous

    @property
    def email(self) -> str:
        return self.principal.email

    @property
    def organisation(self) -> str | None:
        return None if self.principal.anonymous else self.principal.org.name

    def has(self, role: Role | str) -> bool:
        return Role(role) in self.principal.roles


def visitor_dependency(principal: Callable[..., Any]) -> Callable[..., Any]:
    """A FastAPI dependency giving the ``Visitor``, on top of the API's ``principal``."""

    async def visitor(
        request: Request, caller: Annotated[Principal, Depends(principal)]
    ) -> Visitor:
        session = getattr(request.state, "session_caller", None)
        return Visitor(
            principal=caller,
            csrf_token=session.csrf_token if session is not None else None,
            language=language_of(request),
            path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        )

    return visitor


def language_of(request: Request) -> str:
    return i18n.choose(
        request.cookies.get(i18n.LANGUAGE_COOKIE), settings.current().studio.language
    )


@lru_cache(maxsize=1)
def _manifest(stamp: float) -> dict[str, str]:
    path = BUILD / "manifest.json"
    if not path.exists():
        return {}
    found: dict[str, str] = json.loads(path.read_text())
    return found


def manifest() -> dict[str, str]:
    """Entry name → built file (``studio.js`` → ``studio-4KX2.js``); empty when not built."""
    path = BUILD / "manifest.json"
    # keyed by the file's time so that `make assets` under a running server is picked up
    return _manifest(path.stat().st_mtime if path.exists() else 0.0)


def asset(name: str) -> str:
    built = manifest().get(name)
    return f"{STATIC_URL}/build/{built}" if built else f"{STATIC_URL}/build/{name}"


_env = Environment(
    loader=FileSystemLoader(WEB / "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext_, i18n.ngettext_, newstyle=True
)
_env.globals.update(asset=asset, languages=i18n.LANGUAGES)
_env.filters["q"] = lambda value: quote(str(value), safe="")


def environment() -> Environment:
    return _env


def render(
    request: Request,
    visitor: Visitor,
    template: str,
    *,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A Studio page: ``template`` (under ``templates/``) in the visitor's language.

    ``title`` is an already translated string (a template's heading may differ)."""
    from tweeling.web.studio import navigation

    with i18n.active(visitor.language):
        body = _env.get_template(template).render(
            title=title,
            visitor=visitor,
            nav=[item for item in navigation() if item.shown_to(visitor)],
            assets_built=bool(manifest()),
            basemap_style=settings.current().studio.basemap_style,
            **context,
        )
    return HTMLResponse(body, status_code=status, headers=page_headers())


def translate(language: str, message: str) -> str:
    """``message`` in ``language`` (for a title computed in Python)."""
    with i18n.active(language):
        return i18n.gettext_(message)
