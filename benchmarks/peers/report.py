"""The ratio table: printed, and written as JSON and as Markdown for the README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOAL = 5.0  # Tweeling's throughput over pygeoapi's, at equal or lower p99
BASELINE = "pygeoapi"


def verdict(row: dict[str, Any], base: dict[str, Any]) -> tuple[float | None, str]:
    """Throughput ratio against pygeoapi, and whether the goal is met."""
    if row.get("error") or base.get("error"):
        return None, "invalid: " + str(row.get("error") or f"pygeoapi: {base.get('error')}")
    ratio = row["requests_per_s"] / base["requests_per_s"]
    fast = ratio >= GOAL
    steady = row["p99_ms"] <= base["p99_ms"]
    if fast and steady:
        return ratio, "met"
    why = [f"< {GOAL:g}×"] if not fast else []
    why += ["p99 higher"] if not steady else []
    return ratio, "not met (" + ", ".join(why) + ")"


def rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per case and server: case, server, req/s, p50, p99, ratio, goal."""
    out = []
    for case in results["cases"]:
        measured = case["servers"]
        base = measured.get(BASELINE, {"error": "not run"})
        for server, row in measured.items():
            if row.get("error") and "requests_per_s" not in row:
                out.append([case["title"], server, "–", "–", "–", "–", f"invalid: {row['error']}"])
                continue
            ratio, goal = verdict(row, base) if server != BASELINE else (None, "")
            out.append(
                [
                    case["title"],
                    server,
                    f"{row['requests_per_s']:,.1f}",
                    f"{row['p50_ms']:.1f}",
                    f"{row['p99_ms']:.1f}",
                    f"{ratio:.2f}×" if ratio is not None else "",
                    goal,
                ]
            )
    return out


HEADER = ["case", "server", "req/s", "p50 ms", "p99 ms", "× pygeoapi", f"goal ≥ {GOAL:g}×"]


def text_table(results: dict[str, Any]) -> str:
    """Per case a heading, then a row per server."""
    table = rows(results)
    widths = [max(len(r[i]) for r in [HEADER, *table]) for i in range(1, len(HEADER) - 1)]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=False))  # the last cell goes unpadded
        padded = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs]
        return ("  " + "  ".join(padded) + "  " + cells[-1]).rstrip()

    out: list[str] = []
    case = None
    for r in table:
        if r[0] != case:
            case = r[0]
            out += ["", case, line(HEADER[1:])]
        out.append(line(r[1:]))
    return "\n".join(out[1:])


def summary(results: dict[str, Any]) -> list[str]:
    lines = []
    for server in results["servers"]:
        if server == BASELINE:
            continue
        verdicts = [
            verdict(c["servers"][server], c["servers"].get(BASELINE, {"error": "not run"}))[1]
            for c in results["cases"]
            if server in c["servers"]
        ]
        met = sum(v == "met" for v in verdicts)
        lines.append(f"{server}: goal met in {met} of {len(verdicts)} cases")
    return lines


def markdown(results: dict[str, Any]) -> str:
    setup = results["setup"]
    indexed = " and Tweeling (tweeling index add)" if setup["tweeling_attribute_index"] else ""
    head = (
        f"OGC API – Features, {setup['buildings_in_layer']:,} features in the buildings "
        f"collection ({setup['synthetic_buildings']:,} synthetic buildings and their parts); "
        f"each server gunicorn with {setup['workers']} uvicorn workers on "
        f"{setup['machine']}, wrk {setup['wrk']}. pygeoapi {setup['pygeoapi']} "
        "(PostgreSQL provider, count off); Tweeling at "
        f"{setup['tweeling_commit']}. Goal: Tweeling ≥ {GOAL:g}× pygeoapi's requests/s "
        "at equal or lower p99. "
        f"The bbox is {', '.join(map(str, setup['bbox']))} (CRS84); the CQL2 filter "
        f"`{setup['cql2']}` matches {setup['cql2_matches']:,} features; the attribute is "
        f"indexed for pygeoapi (B-tree){indexed}."
    )
    lines = [head, "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows(results):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    lines += ["", *(f"- {s}" for s in summary(results))]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], json_path: Path, md_path: Path) -> None:
    json_path.write_text(json.dumps(results, indent=2))
    md_path.write_text(markdown(results))
