"""The account section in Chromium: a planner turns on two-step verification by the QR code's
text alternative, signs out, signs in with password and code, creates an API token, revokes it and reads
who used the Delft twin's data. Every page passes axe-core and shows no script error."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pyotp
import pytest

from tests.web.browser.conftest import PASSWORD, Studio

TOTP_STEP = 30


def unexpected(problems: list[str]) -> list[str]:
    """The problems but one: the 401 answer to the password alone, which is how the sign-in
    page learns to ask for the code (Chromium logs any failed request as a console error)."""
    asked_for_code = "status of 401 (Unauthorized)"
    return [p for p in problems if not (asked_for_code in p and p.endswith("/auth/login"))]


def on(path: str) -> Callable[[str], bool]:
    """A URL predicate: the page's path is ``path`` (the query aside)."""
    return lambda url: urlsplit(url).path == path


def test_the_sign_in_page_passes_axe(studio: Studio) -> None:
    visitor = studio.visitor()
    visitor.open("/studio/sign-in?next=/studio/account")
    assert visitor.page.locator("#sign-in-email").is_visible()
    assert visitor.page.locator("[data-second-factor]").is_hidden()
    assert visitor.axe() == []
    assert visitor.problems == []


@pytest.mark.journey
def test_two_step_sign_in_a_token_and_the_usage_page(studio: Studio) -> None:
    # someone of Delft reads the twin's datasets for a purpose: the usage page's row
    reader = studio.visitor("viewer@delft.nl")
    read = reader.page.request.get(f"{studio.base}/twins/delft/datasets?purpose=geluidskaart")
    assert read.ok, read.text()

    visitor = studio.visitor()
    page = visitor.page
    visitor.open("/studio/sign-in?next=/studio/account")
    page.fill("#sign-in-email", "planner@delft.nl")
    page.fill("#sign-in-password", PASSWORD)
    page.click("#sign-in [type=submit]")
    page.wait_for_url(on("/studio/account"))
    assert page.locator("[data-two-step-state=off]").is_visible()
    assert visitor.axe() == []

    page.click("[data-totp-start]")
    secret_text = page.locator("[data-totp-secret]")
    secret_text.wait_for(state="visible")
    secret = secret_text.inner_text().strip()
    assert page.locator("[data-totp-qr]").get_attribute("src").startswith("data:image/svg+xml")
    assert visitor.axe() == []
    totp = pyotp.TOTP(secret)
    page.fill("#confirm-code", totp.now())
    page.click("[data-totp-enrol] [type=submit]")
    page.locator("[data-two-step-state=on]").wait_for()

    page.click("[data-sign-out]")
    page.wait_for_url(on("/"))
    visitor.open("/studio/sign-in?next=/studio/account")
    page.fill("#sign-in-email", "planner@delft.nl")
    page.fill("#sign-in-password", PASSWORD)
    page.click("#sign-in [type=submit]")
    page.locator("#sign-in-totp").wait_for(state="visible")
    assert visitor.axe() == []
    # the code of the next time step (accepted within the allowed drift): the current step's
    # code was spent on the confirmation, and a code is never accepted twice
    page.fill("#sign-in-totp", totp.at(time.time() + TOTP_STEP))
    page.click("#sign-in [type=submit]")
    page.wait_for_url(on("/studio/account"))
    assert page.locator("[data-two-step-state=on]").is_visible()

    page.click("#new-token [type=submit]")
    shown = page.locator("[data-new-token-value]")
    shown.wait_for(state="visible")
    token = shown.inner_text().strip()
    assert token
    answer = page.request.get(
        f"{studio.base}/twins/delft", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.ok, answer.text()
    page.reload()
    revoke = page.locator("[data-revoke*='/tokens/']")
    assert revoke.count() == 1
    assert visitor.axe() == []
    revoke.click()
    revoke.wait_for(state="detached")  # the page reloads with the token revoked
    refused = page.request.get(
        f"{studio.base}/twins/delft", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status == 401

    visitor.open("/studio/twins/delft/usage")
    usage = page.locator("table[data-usage]")
    assert "viewer@delft.nl" in usage.inner_text() and "geluidskaart" in usage.inner_text()
    assert page.locator("svg.usage-chart title").count() == 1
    assert visitor.axe() == []
    assert unexpected(visitor.problems) == []
    assert reader.problems == []
