"""The requests compared, chosen from the data, checked on every server, then timed with wrk.

Cases are picked on pygeoapi's table (the same buildings Tweeling serves): a bbox that meets
exactly 100 buildings, whichever way a server tests "meets" (box overlap or true
intersection), with no building near its edges; a building (not a part) in the middle of the
city; a roof-height threshold that the tallest 1 % of buildings exceed.
"""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from peers.data import FILTER_ATTRIBUTE, Postgres
from peers.servers import Peer, get

PAGE = 100
OFFSET = 10_000
DELFT_BUILDINGS = 160


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    params: dict[str, str] = field(default_factory=dict)
    item: str | None = None  # one feature by id, instead of a page
    delft: bool = False
    expect: int = PAGE
    ids: tuple[str, ...] | None = None  # the answer, where the data fully determines it

    def url(self, peer: Peer, base: str) -> str:
        path = peer.delft if self.delft else peer.city
        if self.item is not None:
            return f"{base}{path}/items/{quote(self.item, safe='')}?f=json"
        return f"{base}{path}/items?{urlencode({'f': 'json', **self.params})}"


def _counts(conn: Any, box: tuple[float, ...]) -> tuple[int, int]:
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE ST_Intersects(geom, e)) "
        "FROM buildings, ST_MakeEnvelope(%s, %s, %s, %s, 4326) AS e WHERE geom && e",
        box,
    ).fetchone()
    return int(row[0]), int(row[1])


def _exact_bbox(conn: Any, rng: random.Random, total: int) -> tuple[float, ...]:
    """A lon/lat box that 100 buildings meet, the same 100 by overlap or by intersection,
    and still 100 with its edges moved by 1e-6° either way (float rounding can't tip it)."""
    for _ in range(200):
        x, y = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM buildings "
            "ORDER BY id OFFSET %s LIMIT 1) s",
            (rng.randrange(total),),
        ).fetchone()
        lo, hi = 0.0, 0.05
        for _ in range(40):
            half = (lo + hi) / 2
            # about square in metres at 52° N
            box = tuple(round(v, 7) for v in (x - half * 1.6, y - half, x + half * 1.6, y + half))
            overlap, intersect = _counts(conn, box)
            if overlap == intersect == PAGE:
                inner = (box[0] + 1e-6, box[1] + 1e-6, box[2] - 1e-6, box[3] - 1e-6)
                outer = (box[0] - 1e-6, box[1] - 1e-6, box[2] + 1e-6, box[3] + 1e-6)
                if _counts(conn, inner) == _counts(conn, outer) == (PAGE, PAGE):
                    return box
                break
            if overlap < PAGE:
                lo = half
            else:
                hi = half
    raise SystemExit("found no bbox meeting exactly 100 buildings")


def plan(pg: Postgres, db: str) -> tuple[list[Case], dict[str, Any]]:
    """The five cases, and what they were chosen from."""
    rng = random.Random(7)
    with pg.connect(db) as conn:
        total = int(conn.execute("SELECT count(*) FROM buildings").fetchone()[0])
        box = _exact_bbox(conn, rng, total)
        inside = conn.execute(
            "SELECT id FROM buildings WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", box
        ).fetchall()
        delft = conn.execute("SELECT id FROM buildings_delft").fetchall()
        (middle,) = conn.execute(
            "SELECT id FROM buildings WHERE cityjson_type = 'Building' ORDER BY id "
            "OFFSET %s LIMIT 1",
            (total // 2,),
        ).fetchone()
        (p99,) = conn.execute(
            f"SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY {FILTER_ATTRIBUTE}) "
            "FROM buildings"
        ).fetchone()
        threshold = int(float(p99) * 2) / 2  # down to half metres
        (matches,) = conn.execute(
            f"SELECT count(*) FROM buildings WHERE {FILTER_ATTRIBUTE} > %s", (threshold,)
        ).fetchone()
    if matches < PAGE or total < OFFSET + PAGE:
        raise SystemExit(f"too few buildings for the cases ({total}, {matches} over threshold)")
    cql = f"{FILTER_ATTRIBUTE} > {threshold}"
    bbox = ",".join(str(v) for v in box)
    cases = [
        Case(
            "bbox", "bbox, 100 of 100 buildings", {"bbox": bbox, "limit": "100"}, ids=_ids(inside)
        ),
        Case("item", "one building by id", item=str(middle), expect=1, ids=(str(middle),)),
        Case(
            "cql2",
            f"CQL2 filter `{cql}`, limit 100",
            {"filter": cql, "filter-lang": "cql2-text", "limit": "100"},
        ),
        Case(
            "paging",
            f"page at offset {OFFSET:,}, limit 100",
            {"limit": "100", "offset": str(OFFSET)},
        ),
        Case(
            "delft",
            "all 160 Delft buildings",
            {"limit": "1000"},
            delft=True,
            expect=DELFT_BUILDINGS,
            ids=_ids(delft),
        ),
    ]
    facts = {
        "buildings_in_layer": total,
        "bbox": box,
        "item_id": middle,
        "cql2": cql,
        "cql2_matches": int(matches),
    }
    return cases, facts


def _ids(rows: list[Any]) -> tuple[str, ...]:
    return tuple(sorted(str(r[0]) for r in rows))


def check(case: Case, peer: Peer, base: str) -> tuple[list[str], str | None]:
    """The ids a server answers with, and what is wrong with its answer (None: nothing)."""
    url = case.url(peer, base)
    status, body = get(url)
    if status != 200:
        return [], f"HTTP {status} for {url}: {body}"
    features = [body] if case.item is not None else body.get("features", [])
    ids = sorted(str(f.get("id")) for f in features)
    if len(ids) != case.expect:
        return ids, f"{len(ids)} features instead of {case.expect} from {url}"
    if case.key == "cql2":
        low = float(case.params["filter"].rsplit(" ", 1)[1])
        if any((f["properties"].get(FILTER_ATTRIBUTE) or 0) <= low for f in features):
            return ids, f"a feature does not match the filter at {url}"
    if case.ids is not None and tuple(ids) != case.ids:
        missing, extra = set(case.ids) - set(ids), set(ids) - set(case.ids)
        return ids, f"not the expected ids: {len(missing)} missing, {len(extra)} others, {url}"
    return ids, None


_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(url: str, seconds: int, connections: int = 16, threads: int = 2) -> dict[str, Any]:
    """Requests per second and p50/p99 latency (ms) under ``connections`` concurrent clients."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "30s",
        "-H",
        "Accept: application/geo+json",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    latency = {p: float(v) * _UNIT_MS[unit] for p, v, unit in _LATENCY.findall(out)}
    if rps is None or total is None or set(latency) != {"50", "99"}:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors:.*", out)
    return {
        "requests_per_s": float(rps.group(1)),
        "p50_ms": round(latency["50"], 2),
        "p99_ms": round(latency["99"], 2),
        "requests": int(total.group(1)),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sockets.group(0) if sockets else None,
    }
