"""The accreditation desk and the publisher portal in a browser: an assigned reviewer opens
the queue, reads the automated checks with their evidence and scores every dimension from the
reference review; the market master then accredits the version, and the store lists it as
accredited. The provider publishes its next version from a .twapp file and submits it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.web import desk_round
from tests.web.browser.conftest import PASSWORD, Studio

REVIEW = Path(__file__).resolve().parents[2] / "store" / "fixtures" / "reference-review.toml"
PAGE = "/studio/desk/solar-potential/0.1.0"


@pytest.fixture(scope="module")
def round_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("desk")


@pytest.fixture(scope="module")
def round_ready(studio: Studio, samples: Path, round_folder: Path) -> Studio:
    desk_round.prepare(studio.db, samples, round_folder, PASSWORD)
    return studio


def _score_dimension(page: Any, form: Any, review: dict[str, dict[str, Any]]) -> None:
    for fieldset in form.locator("fieldset[data-criterion]").all():
        criterion = fieldset.get_attribute("data-criterion")
        scored = review[criterion]
        fieldset.locator("select[name=score]").select_option(str(scored["score"]))
        fieldset.locator("textarea[name=evidence]").fill(scored["evidence"])
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


@pytest.mark.journey
def test_an_accreditor_scores_and_the_market_master_accredits(round_ready: Studio) -> None:
    review = {s["criterion"]: s for s in tomllib.loads(REVIEW.read_text())["scores"].values()}

    reviewer = round_ready.visitor(desk_round.REVIEWERS[0])
    reviewer.open("/studio/desk")
    assert reviewer.axe() == []
    reviewer.page.get_by_role("link", name="solar-potential").click()
    reviewer.page.wait_for_url(f"**{PAGE}")
    checks = reviewer.page.locator("#checks ~ table tbody tr")
    assert checks.count() >= 5
    assert not any("niet geslaagd" in row for row in checks.all_inner_texts())
    reviewer.page.locator("#checks ~ table details").first.click()  # the evidence opens
    assert reviewer.page.locator("#checks ~ table details pre").first.is_visible()
    assert reviewer.axe() == []
    dimensions = reviewer.page.locator("form[data-desk-scores]").count()
    assert dimensions == 6
    for index in range(dimensions):
        _score_dimension(
            reviewer.page, reviewer.page.locator("form[data-desk-scores]").nth(index), review
        )
    assert "mag geaccrediteerd worden" in reviewer.page.locator(".desk-facts").inner_text()
    assert reviewer.problems == []

    master = round_ready.visitor(desk_round.MASTER)
    master.open(PAGE)
    assert master.axe() == []
    master.page.get_by_label("Accrediteren").check()
    master.page.get_by_label("Reden (wordt met het besluit gepubliceerd)").fill(
        "Haalt elke norm; alle controles geslaagd."
    )
    with master.page.expect_navigation():
        master.page.get_by_role("button", name="Beslissen").click()
    assert master.page.locator("[data-state]").inner_text() == "approved"
    listed = master.page.request.get(f"{round_ready.base}/store/apps/solar-potential").json()
    assert listed["current"]["version"] == "0.1.0" and listed["current"]["state"] == "approved"
    report = master.page.request.get(
        f"{round_ready.base}/store/apps/solar-potential/versions/0.1.0/accreditation"
    ).json()
    assert report["accredited"] is True
    assert master.problems == []


@pytest.mark.journey
def test_the_provider_publishes_and_submits_a_new_version(
    round_ready: Studio, round_folder: Path
) -> None:
    package = desk_round.next_version_package(round_folder)
    provider = round_ready.visitor(desk_round.PROVIDER)
    provider.open("/studio/publish")
    assert provider.axe() == []
    provider.page.get_by_label("App-pakket").set_input_files(str(package))
    with provider.page.expect_navigation():
        provider.page.get_by_role("button", name="Publiceren", exact=True).click()
    row = provider.page.locator("tr", has=provider.page.locator('th:text-is("0.2.0")'))
    assert "draft" in row.inner_text()
    row.get_by_label("Toelichting voor de marktmeester (0.2.0)").fill("Nieuwe versie")
    with provider.page.expect_navigation():
        row.get_by_role("button", name="0.2.0 indienen voor accreditatie").click()
    row = provider.page.locator("tr", has=provider.page.locator('th:text-is("0.2.0")'))
    assert "submitted" in row.inner_text()
    assert "de marktmeester voert de geautomatiseerde controles uit" in row.inner_text()
    assert provider.axe() == []
    assert provider.problems == []
