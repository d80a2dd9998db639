"""Every message the Studio shows has a Dutch translation, and the catalogues agree.

Messages are extracted from the templates and the Python code the way ``pybabel extract``
does (Jinja2's extractor for ``{% trans %}``/``_()``, Python's for ``_``/``N_``/``gettext_``)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tweeling.web import i18n

WEB = Path(i18n.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext_": None,
    "ngettext": (1, 2),
    "ngettext_": (1, 2),
    "translate": (2,),
}


def _extracted() -> dict[str, list[str]]:
    """msgid → where it is used (file:line)."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        WEB,
        METHODS,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _dutch() -> dict[str, str]:
    """msgid → Dutch over every catalogue; a msgid in two catalogues must read the same."""
    out: dict[str, str] = {}
    for path in i18n.catalogue_files("nl"):
        with path.open("rb") as po:
            for message in read_po(po, locale="nl"):
                if not message.id:
                    continue
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                assert "fuzzy" not in message.flags, f"{path.name}: fuzzy entry {ids[0]!r}"
                for msgid, text in zip(ids, strings, strict=False):
                    previous = out.get(msgid)
                    assert previous in (None, text), (
                        f"{msgid!r} is translated as {previous!r} and, in {path.name}, {text!r}"
                    )
                    out[msgid] = text
    return out


def test_the_extraction_finds_the_layouts_messages() -> None:
    assert "Skip to content" in _extracted()


def test_every_message_has_a_dutch_translation() -> None:
    dutch = _dutch()
    missing = {m: where[0] for m, where in _extracted().items() if not dutch.get(m)}
    assert not missing, f"no Dutch for: {missing}"


def test_a_page_is_dutch_by_default_and_english_on_request() -> None:
    assert i18n.translations("nl").gettext("Skip to content") == "Naar de inhoud"
    assert i18n.translations("en").gettext("Skip to content") == "Skip to content"
    assert i18n.choose(None, "nl") == "nl"
    assert i18n.choose("en", "nl") == "en"
    assert i18n.choose("de", "nl") == "nl"  # a language we do not have: the deployment's
