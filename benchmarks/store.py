"""Store search benchmark: ranked full-text search with facets over 10,000 listings.

    python benchmarks/store.py            # 10,000 listings, SQLite (and PostgreSQL when
                                          # TWEELING_BENCH_PG_URL is set)
    python benchmarks/store.py --quick    # 1,000 listings

The listings are generated (titles, summaries and descriptions from a Dutch and English
vocabulary of digital-twin apps, use cases, publishers, price models, layers) and indexed by
the store's own ``search.put`` — the code publishing and approval call — so the index is the
one the store keeps. Each query (a mix of one-word, two-word, prefix, empty and faceted
searches, as a municipality types them) is timed through ``search.find`` on a warm database;
the goal is under 50 ms for 10,000 listings. Results go to benchmarks/out/store.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert, text  # noqa: E402

from tweeling.storage.db import Database, open_database  # noqa: E402
from tweeling.storage.schema import organisations, store_listings  # noqa: E402
from tweeling.store import search  # noqa: E402

GOAL_MS = 50.0
TOPICS = [
    ("zonnepanelen", "solar panels", "energy"),
    ("hittestress", "heat stress", "climate-adaptation"),
    ("geluid", "traffic noise", "liveability-health"),
    ("wateroverlast", "flooding", "climate-adaptation"),
    ("bezonning", "sunlight", "permits"),
    ("luchtkwaliteit", "air quality", "liveability-health"),
    ("mobiliteit", "mobility", "mobility"),
    ("woningbouw", "housing", "housing"),
    ("veiligheid", "safety", "safety"),
    ("groen", "green space", "liveability-health"),
    ("warmtenet", "district heating", "energy"),
    ("parkeren", "parking", "mobility"),
]
WORDS = [
    "model",
    "twin",
    "city",
    "stad",
    "wijk",
    "buurt",
    "gebouw",
    "building",
    "roof",
    "dak",
    "gevel",
    "facade",
    "street",
    "straat",
    "analysis",
    "analyse",
    "kaart",
    "map",
    "scenario",
    "plan",
    "vergunning",
    "permit",
    "sensor",
    "data",
    "risico",
    "risk",
    "simulatie",
    "simulation",
    "index",
    "score",
    "prognose",
    "forecast",
    "calibrated",
    "gemeente",
    "municipality",
]
LAYERS = ["buildings", "roads", "vegetation", "water", "landuse", "trees", "sensors"]
PRICES = ["free", "subscription", "pay-per-use", "one-off", "on-request"]
QUERIES = [
    "zon",
    "zonnepanelen",
    "hittestress kaart",
    "heat stress",
    "geluid verkeer",
    "solar roof",
    "water",
    "",
    "mobil",
    "permit vergunning",
]


def _listing(i: int, rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    dutch, english, use_case = rng.choice(TOPICS)
    extra = " ".join(rng.choices(WORDS, k=40))
    title = f"{english.title()} {rng.choice(WORDS)} {i}"
    summary = f"{dutch} {english}: {' '.join(rng.choices(WORDS, k=12))}"
    body = f"{dutch} {english} {extra}"
    facets = {
        "app_id": f"app-{i}",
        "version": "1.0.0",
        "state": "approved",
        "use_cases": [use_case] + ([rng.choice(TOPICS)[2]] if rng.random() < 0.3 else []),
        "publisher": f"Publisher {i % 97}",
        "price_model": rng.choice(PRICES),
        "layers": sorted(set(rng.sample(LAYERS, k=rng.randint(1, 3)))),
        "approval": "approved",
    }
    return title, summary, body, facets


def build(db: Database, listings: int) -> float:
    rng = random.Random(1)
    started = time.perf_counter()
    with db.begin() as conn:
        org = conn.execute(
            insert(organisations).values(
                name="Bench", kind="provider", mfa_required=False, created_at=_now()
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        for i in range(listings):
            listing_id = conn.execute(
                insert(store_listings).values(
                    app_id=f"app-{i}", publisher_org_id=org, created_by="bench", created_at=_now()
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            search.put(conn, listing_id, *_listing(i, rng))
    if db.engine.dialect.name == "postgresql":
        with db.begin() as conn:
            # what autovacuum does for a running store after a bulk load
            conn.execute(text("ANALYZE store_search"))
            conn.execute(text("ANALYZE store_facets"))
    return time.perf_counter() - started


def _now() -> Any:
    from tweeling.twin.twins import now

    return now()


def measure(db: Database, repeats: int) -> dict[str, Any]:
    cases: list[tuple[str, dict[str, str]]] = [(q, {}) for q in QUERIES]
    cases += [("", {"use_cases": "energy"}), ("zon", {"price_model": "free"})]
    cases += [("kaart", {"layers": "trees", "use_cases": "climate-adaptation"})]
    out: dict[str, Any] = {}
    all_ms: list[float] = []
    with db.read() as conn:
        for query, filters in cases:
            search.find(conn, query, filters)  # warm
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                results = search.find(conn, query, filters)
                times.append((time.perf_counter() - started) * 1000)
            all_ms += times
            label = f"{query!r}" + (f" {filters}" if filters else "")
            out[label] = {
                "matches": results.total,
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 2),
            }
    ordered = sorted(all_ms)
    out["all"] = {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
        "goal_ms": GOAL_MS,
        "pass": ordered[int(0.95 * (len(ordered) - 1))] < GOAL_MS,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 listings")
    args = parser.parse_args()
    listings = 1_000 if args.quick else 10_000
    repeats = 20 if args.quick else 50
    results: dict[str, Any] = {"listings": listings}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'store.db'}")
        db.migrate()
        results["sqlite"] = {"index_s": round(build(db, listings), 2), **measure(db, repeats)}
        db.dispose()
    pg = os.environ.get("TWEELING_BENCH_PG_URL")
    if pg:
        import uuid

        from sqlalchemy import create_engine

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            sep = "&" if "?" in pg else "?"
            db = open_database(f"{pg}{sep}options=-csearch_path%3D{schema},public")
            db.migrate()
            results["postgresql"] = {
                "index_s": round(build(db, listings), 2),
                **measure(db, repeats),
            }
            db.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "store.json").write_text(json.dumps(results, indent=2))
    for backend in ("sqlite", "postgresql"):
        if backend not in results:
            continue
        print(f"\n{backend}: {listings:,} listings indexed in {results[backend]['index_s']} s")
        print("| query | matches | p50 ms | p95 ms |\n|---|---:|---:|---:|")
        for label, row in results[backend].items():
            if isinstance(row, dict) and "matches" in row:
                print(f"| {label} | {row['matches']:,} | {row['p50_ms']} | {row['p95_ms']} |")
        print(f"all queries: {results[backend]['all']}")
    print(f"results: {OUT / 'store.json'}")


if __name__ == "__main__":
    main()
