"""The lifecycle's rules and the product page's validation and sanitising, without a
database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweeling.apps import packages
from tweeling.apps.manifest import load_manifest
from tweeling.apps.scaffold import scaffold
from tweeling.errors import Conflict, InvalidInput
from tweeling.store.accreditation import cases
from tweeling.store.lifecycle import (
    MARKET_MASTER,
    PIPELINE,
    PUBLISHER,
    State,
    check_transition,
)
from tweeling.store.pages import PAGE_FILE, page_of, parse_page, render_markdown

SOLAR = Path(__file__).resolve().parents[2] / "apps" / "solar-potential"


def test_who_moves_a_version_where() -> None:
    check_transition(State.draft, State.submitted, PUBLISHER)
    check_transition(State.under_review, State.approved, PIPELINE)
    check_transition(State.approved, State.deprecated, PUBLISHER)
    check_transition(State.approved, State.withdrawn, MARKET_MASTER)  # may take their steps
    check_transition(State.approved, State.suspended, PIPELINE)  # a failed spot check
    # nobody approves by hand: the way into the store is the accreditation pipeline's
    for who in (MARKET_MASTER, PUBLISHER):
        with pytest.raises(Conflict, match="only through accreditation"):
            check_transition(State.under_review, State.approved, who)
        with pytest.raises(Conflict, match="only through accreditation"):
            check_transition(State.submitted, State.approved, who)
    with pytest.raises(Conflict, match="only through accreditation"):
        check_transition(State.submitted, State.checks, MARKET_MASTER)
    with pytest.raises(Conflict, match="only the market master may move"):
        check_transition(State.approved, State.suspended, PUBLISHER)
    with pytest.raises(Conflict, match="cannot become approved; it can become"):
        check_transition(State.rejected, State.approved, MARKET_MASTER)
    with pytest.raises(Conflict, match="it can become nothing else"):
        check_transition(State.withdrawn, State.approved, PUBLISHER)
    with pytest.raises(Conflict, match="cannot become deprecated"):
        check_transition(State.under_review, State.deprecated, PIPELINE)


def test_markdown_is_rendered_and_sanitised() -> None:
    html = render_markdown(
        "**bold** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://a.nl)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<strong>bold</strong>" in html
    assert "<script" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, never run
    assert "<img" not in render_markdown("<img src=x onerror=alert(1)>")
    assert 'href="https://a.nl"' in html and 'rel="nofollow' in html
    assert "<table>" in html


def test_page_validation_names_the_field() -> None:
    manifest = load_manifest(SOLAR)
    base = {"title": "Solar", "summary": "A summary long enough."}
    with pytest.raises(InvalidInput, match=r"page: price: .*subscription price needs amount_eur"):
        parse_page({**base, "price": {"model": "subscription"}}, manifest, "page")
    with pytest.raises(InvalidInput, match=r"price\.model"):
        parse_page({**base, "price": {"model": "barter"}}, manifest, "page")
    with pytest.raises(InvalidInput, match=r"data\.layer 'trees' is not an input"):
        parse_page({**base, "data": [{"layer": "trees", "if_missing": "x"}]}, manifest, "page")
    personal = manifest.model_copy(update={"personal_data": True})
    with pytest.raises(InvalidInput, match=r"privacy\.statement and privacy\.lawful_basis"):
        parse_page(base, personal, "page")
    ok = parse_page(
        {**base, "privacy": {"statement": "We read addresses.", "lawful_basis": "public-task"}},
        personal,
        "page",
    )
    assert ok.privacy.lawful_basis == "public-task"


def test_the_page_travels_signed_in_the_package(tmp_path: Path) -> None:
    page = page_of(packages.from_path(SOLAR))
    assert page.title == "Solar potential of roofs and facades"
    assert "zonnepanelen" in page.keywords
    assert page.data[0].layer == "buildings"
    # A page naming a screenshot the package lacks is refused.
    app = scaffold("shots", tmp_path)
    (app / PAGE_FILE).write_text(
        'title = "T t t"\nsummary = "A summary long enough."\nscreenshots = ["shot.png"]\n'
    )
    with pytest.raises(InvalidInput, match=r"screenshot 'shot\.png' is not a file of the package"):
        page_of(packages.from_path(app))
    (app / "shot.png").write_bytes(b"\x89PNG")
    assert page_of(packages.from_path(app)).screenshots == ["shot.png"]


def test_reference_cases_are_validated_and_compared(tmp_path: Path) -> None:

    found, data = cases.load(packages.from_path(SOLAR))
    assert found is not None and found.case[0].data in data
    expectation = found.case[0].expect[0]
    near = {"attributes": {"roof_irradiation_kwh_m2": {"lone-building": 1040.0}}}
    assert cases.compare(expectation, near)["ok"]  # within 1 %
    far = cases.compare(
        expectation, {"attributes": {"roof_irradiation_kwh_m2": {"lone-building": 900}}}
    )
    assert not far["ok"] and far["why"].startswith("off by 132.3 (allowed 10.3")
    missing = cases.compare(expectation, {"attributes": {}})
    assert missing["why"] == "not in the outputs"
    app = scaffold("cased", tmp_path)
    (app / cases.CASES_FILE).write_text(
        '[[case]]\nname = "x"\ndata = "nowhere.city.json"\n'
        'source = "y"\n[[case.expect]]\noutput = "n"\nvalue = 1\n'
    )
    with pytest.raises(InvalidInput, match=r"nowhere\.city\.json is not in the package"):
        cases.load(packages.from_path(app))
    (app / cases.CASES_FILE).write_text('[[case]]\nname = "x"\ndata = "a.city.json"\n')
    with pytest.raises(
        InvalidInput, match=r"tweeling-reference-cases.toml: case.0.source: Field required"
    ):
        cases.load(packages.from_path(app))
