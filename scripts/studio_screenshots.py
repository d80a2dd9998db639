"""Screenshots of the Studio's main pages for docs/screenshots/ (and the README).

    tweeling demo --no-serve && tweeling serve &      # a demo platform on :8000
    python scripts/studio_screenshots.py --base http://127.0.0.1:8000 \\
        --email planner@delft.nl --password '…'        # a member of Gemeente Delft

Uses Debian's Chromium through Playwright. It publishes the demo's tower scenario as a plan
(when none is published yet) to show the public plan page.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    base = args.base.rstrip("/")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="nl-NL")
        page = context.new_page()
        page.set_default_timeout(120_000)
        login = context.request.post(
            f"{base}/auth/login", data={"email": args.email, "password": args.password}
        )
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}

        def shot(name: str, path: str, wait: str | None = None) -> None:
            page.goto(base + path)
            if wait:
                page.wait_for_function(wait)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / f"{name}.png"))
            print(f"{name}: {path}")

        tiles = "() => Number(document.getElementById('viewer').dataset.tilesLoaded) > 0"
        shot("home", "/")
        shot("twin-3d", "/studio/twins/delft?colour=solar-potential.yield_kwh", tiles)
        shot("compare", "/studio/twins/delft/compare?a=current&b=tower")
        shot("store", "/studio/store")
        shot("store-product", "/studio/store/apps/solar-potential?twin=delft")
        runs = page.goto(base + "/studio/runs")
        assert runs is not None
        first_run = page.locator("a[href^='/studio/runs/']").first.get_attribute("href")
        shot("run-provenance", str(first_run))
        mine = context.request.get(f"{base}/plans").json()["plans"]
        live = [p for p in mine if not p["withdrawn"]]
        if not live:
            made = context.request.post(
                f"{base}/twins/delft/scenarios/tower/plan",
                data={
                    "title": "Toren aan de Schoemaker­straat",
                    "summary": "Een toren van 70 meter op de hoek. Wat vindt u ervan?",
                },
                headers=csrf,
            )
            live = [made.json()]
        shot("plan", f"/studio/plans/{live[0]['slug']}", tiles)
        shot("account", "/studio/account")
        browser.close()


if __name__ == "__main__":
    main()
