"""The Studio's twin page in Chromium: how soon the buildings show, and what it costs.

    make bench-studio                   # Delft (the shipped sample) and a 100k-building twin
    python benchmarks/studio.py --quick # Delft only

For each twin, a fresh home with the twin (public, so the page needs no sign-in) is served by
``tweeling serve`` in its own process, and Debian's Chromium (Playwright) opens
``/studio/twins/{twin}`` in a new browser context each round (cold cache). Measured from the
navigation's start: the first tile shown (the viewer's ``data-tiles-loaded`` > 0), the
complete first view (CesiumJS's ``allTilesLoaded``: every tile the camera needs is in), and
the requests and bytes (response bodies as transferred) until then, split into the page's own
assets and the twin's tiles. Rendering is SwiftShader on the CPU (no GPU here), so the times
are an upper bound for a desktop browser. The median of the rounds is reported; results go to
benchmarks/out/studio.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import OUT, synth

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "tweeling" / "samples" / "cities" / "delft.city.json"
TWEELING = str(Path(sys.executable).with_name("tweeling"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROUNDS = 3


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _home(name: str, source: Path) -> tuple[Path, float]:
    """A home with the twin loaded and made public; returns it and the import seconds."""
    home = OUT / "studio" / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "TWEELING_HOME": str(home)}
    env.pop("TWEELING_DATABASE_URL", None)
    subprocess.run([TWEELING, "init"], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(
        [TWEELING, "ingest", str(source), "--twin", name], env=env, check=True, capture_output=True
    )
    seconds = time.perf_counter() - start
    engine = create_engine(f"sqlite:///{home / 'tweeling.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE twins SET public = true"))  # no sign-in in the way
    engine.dispose()
    return home, seconds


def _serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "TWEELING_HOME": str(home)}
    env.pop("TWEELING_DATABASE_URL", None)
    server = subprocess.Popen(
        [TWEELING, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("tweeling serve did not start")


def _round(browser: Any, base: str, twin: str, timeout_s: float) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen: list[tuple[str, int]] = []

    def on_finished(request: Any) -> None:
        try:
            size = request.sizes()["responseBodySize"]
        except Exception:  # a request the page abandoned
            size = 0
        seen.append((request.url, size))

    page.on("requestfinished", on_finished)
    start = time.perf_counter()
    page.goto(f"{base}/studio/twins/{twin}")
    page.wait_for_function(
        "() => Number(document.getElementById('viewer').dataset.tilesLoaded) > 0",
        timeout=timeout_s * 1000,
        polling=20,
    )
    first = time.perf_counter() - start
    page.wait_for_function(
        "() => document.getElementById('viewer').dataset.allTilesLoaded === 'true'",
        timeout=timeout_s * 1000,
        polling=50,
    )
    complete = time.perf_counter() - start
    loaded = int(page.locator("#viewer").get_attribute("data-tiles-loaded") or 0)
    settled = list(seen)
    context.close()
    tiles = [(u, n) for u, n in settled if "/3dtiles/" in u]
    return {
        "first_tile_s": first,
        "complete_view_s": complete,
        "tiles_loaded": loaded,
        "requests": len(settled),
        "bytes": sum(n for _, n in settled),
        "tile_requests": len(tiles),
        "tile_bytes": sum(n for _, n in tiles),
    }


def measure(name: str, source: Path, timeout_s: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    home, import_s = _home(name, source)
    server, base = _serve(home)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
            )
            _round(browser, base, name, timeout_s)  # the server's tile caches warm once
            rounds = [_round(browser, base, name, timeout_s) for _ in range(ROUNDS)]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    result: dict[str, Any] = {"import_s": import_s, "rounds": rounds}
    for key in rounds[0]:
        result[key] = statistics.median(r[key] for r in rounds)
    return result


def report(results: dict[str, Any]) -> str:
    lines = [
        "| twin | first tile | complete view | requests (tiles) | MB (tiles) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['first_tile_s']:.2f} s | {r['complete_view_s']:.2f} s | "
            f"{r['requests']:.0f} ({r['tile_requests']:.0f}) | "
            f"{r['bytes'] / 1e6:.1f} ({r['tile_bytes'] / 1e6:.1f}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Delft only")
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        sys.exit("needs Debian's chromium (make system-deps)")
    results = {"delft": measure("delft", SAMPLE, 60)}
    if not args.quick:
        results["synthetic-100k"] = measure("synthetic-100k", synth(100_000), 600)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "studio.json").write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


if __name__ == "__main__":
    main()
