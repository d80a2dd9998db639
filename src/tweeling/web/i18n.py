"""The Studio's languages: English message ids, Dutch translations from gettext catalogues.

Each area of the Studio keeps its own catalogue (``locale/nl/LC_MESSAGES/<area>.po``, so two
areas never edit one file); they are read with Babel once per process and merged. The
language of a page is the visitor's choice (the ``tweeling_lang`` cookie the language switch
sets), else the deployment's (``TWEELING_LANGUAGE``, Dutch by default).

Templates translate with ``{% trans %}`` / ``{{ _("...") }}``; Python code that names a
message for a template marks it with ``N_`` so that extraction finds it.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: tuple[str, ...] = ("nl", "en")
SOURCE_LANGUAGE = "en"
LANGUAGE_COOKIE = "tweeling_lang"
LOCALE_DIR = Path(__file__).with_name("locale")

_SOURCE = gettext.NullTranslations()
_active: ContextVar[gettext.NullTranslations | None] = ContextVar(
    "tweeling_translations", default=None
)


def N_(message: str) -> str:
    return message


def catalogue_files(language: str) -> list[Path]:
    return sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """Every catalogue of ``language`` merged (the source language needs none)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    merged: Translations | None = None
    for path in catalogue_files(language):
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        one = Translations(fp=buffer)
        merged = one if merged is None else merged.merge(one)
    return merged or gettext.NullTranslations()


def choose(cookie: str | None, default: str) -> str:
    """The page's language: the visitor's own choice when it is one we have."""
    return cookie if cookie in LANGUAGES else default


class active:
    """Translate with ``language`` inside the block (rendering one page)."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __enter__(self) -> gettext.NullTranslations:
        found = translations(self.language)
        self._token = _active.set(found)
        return found

    def __exit__(self, *exc: object) -> None:
        _active.reset(self._token)


def gettext_(message: str) -> str:
    return (_active.get() or _SOURCE).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return (_active.get() or _SOURCE).ngettext(singular, plural, n)
