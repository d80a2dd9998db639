"""``tweeling app new``: any printable publisher name gives a manifest that TOML parses.

The oracle is Python's own TOML reader (tomllib, TOML 1.0): whatever the name holds — quotes,
backslashes, brackets, TOML syntax, any script — the manifest parses back to exactly that
name, round-trips through a TOML writer unchanged, and passes the platform's manifest check.
A name that is not one printable line (a newline, a tab, a control character) is refused with
the character named, and nothing is created.
"""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.test_cli import run
from tweeling.apps.check import check_app
from tweeling.apps.manifest import MANIFEST
from tweeling.apps.scaffold import scaffold
from tweeling.errors import InvalidInput

# Printable characters: everything but control, format, surrogate, private-use, unassigned
# and separator characters, with the ordinary space and the characters TOML strings escape.
_PRINTABLE = st.characters(exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"])
_AWKWARD = st.sampled_from([*list(" \"'\\[]{}=#,.$`"), '"""', "'''", "\\u0041", "\\n", "[/b]"])
publisher_names = (
    st.lists(st.one_of(_PRINTABLE, _AWKWARD), min_size=1, max_size=60)
    .map("".join)
    .filter(lambda name: name.strip() != "")
)


@settings(max_examples=150, deadline=None)
@given(publisher=publisher_names)
def test_any_printable_publisher_name_gives_a_manifest_that_parses(publisher: str) -> None:
    assert publisher.isprintable()
    with tempfile.TemporaryDirectory() as parent:
        folder = scaffold("footprints", Path(parent), publisher)
        text = (folder / MANIFEST).read_text(encoding="utf-8")
        data = tomllib.loads(text)
        assert data["publisher"] == publisher.strip()
        assert tomllib.loads(tomli_w.dumps(data)) == data  # round-trips through a writer
        assert check_app(folder).manifest.publisher == publisher.strip()
        assert sorted(p.name for p in Path(parent).iterdir()) == ["footprints"]  # no leftovers


def test_the_manifest_is_the_documented_app(tmp_path: Path) -> None:
    data = tomllib.loads((scaffold("footprints", tmp_path) / MANIFEST).read_text("utf-8"))
    assert data["publisher"] == "My organisation"
    assert data["entry_point"] == "footprints.app:run"
    assert data["parameters"]["calibrated"] == ["large_m2"]
    assert data["parameters"]["schema"]["properties"]["large_m2"]["default"] == 500
    assert [o["name"] for o in data["outputs"]] == ["footprint_m2", "large", "large_count"]
    assert data["description"].startswith("Computes the area of each building's footprint")


@pytest.mark.parametrize(
    ("publisher", "named"),
    [
        ("Gemeente\nDelft", "'\\n'"),
        ("Gemeente\tDelft", "'\\t'"),
        ("Gemeente\x1b[31mDelft", "'\\x1b'"),
        ("Gemeente\u2028Delft", "'\\u2028'"),
        ("Gemeente\u200bDelft", "'\\u200b'"),  # zero-width space: a format character
        ("   ", "give your organisation's name"),
        ("x" * 201, "publisher"),  # the manifest allows 200 characters
    ],
)
def test_a_name_that_is_not_one_printable_line_is_refused(
    tmp_path: Path, publisher: str, named: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        scaffold("footprints", tmp_path, publisher)
    assert named in caught.value.message
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_the_cli_writes_and_checks_an_awkward_name_and_refuses_a_newline(tmp_path: Path) -> None:
    home = tmp_path / "home"
    awkward = 'Gemeente "Delft" \\ [/red] [bold]'
    r = run(["app", "new", "footprints", "--dir", str(tmp_path), "--publisher", awkward], home)
    assert r.returncode == 0, r.stderr
    r = run(["app", "check", str(tmp_path / "footprints")], home)
    assert r.returncode == 0, r.stderr
    assert f"by {awkward} (EUPL-1.2)" in r.stdout  # shown as written, not read as markup
    r = run(["app", "new", "other", "--dir", str(tmp_path), "--publisher", "a\nb"], home)
    assert r.returncode == 2 and "not printable" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "other").exists()
