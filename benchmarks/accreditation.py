"""Accreditation benchmark: how long a round of automated checks takes per app, and what the
sandbox measured, on a fresh SQLite store.

    python benchmarks/accreditation.py          # the three reference apps and a bad app
    python benchmarks/accreditation.py --quick  # solar potential only

The store is made from scratch in a temporary folder: a provider whose signing key is
registered publishes each reference app, submits it, and the market master runs the checks
(``services.accreditation.run_checks``, the code behind ``tweeling accredit checks``). The
first round also imports the two reference twins (Delft, the synthetic district); that import
is timed on its own. Each app's round is then timed twice (the first after submission, the
second a re-check), with the number of sandboxed runs it made and each check's verdict.
No peer platform accredits apps, so there is no ratio to report. Results go to
benchmarks/out/accreditation.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
SAMPLES = ROOT / "src" / "tweeling" / "samples" / "cities"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from tests.store.bad_apps import bad_app  # noqa: E402

from tweeling.access import identity  # noqa: E402
from tweeling.access.identity import Principal, Role  # noqa: E402
from tweeling.apps import packages  # noqa: E402
from tweeling.apps.executors import LocalExecutor  # noqa: E402
from tweeling.apps.runs import Runtime  # noqa: E402
from tweeling.services import accreditation, reference_runs, store  # noqa: E402
from tweeling.storage.db import open_database  # noqa: E402
from tweeling.storage.schema import app_runs  # noqa: E402

APPS = ("solar-potential", "sun-hours-and-shade", "heat-stress")


def _runs(db: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(app_runs)).scalar_one())


def _bad_app(folder: Path) -> Path:
    """The test fixture that opens a socket: a round that fails early and for a reason."""
    return bad_app(folder, "socket")


def measure(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = open_database(f"sqlite:///{work / 'store.db'}")
        db.migrate()
        with db.begin() as conn:
            identity.bootstrap(conn)
            provider = identity.create_organisation(conn, "Stadslab BV", "provider", actor="b")
            master = identity.get_organisation(conn, identity.MARKET_MASTER)
        developer = Principal(0, "dev@stadslab.nl", provider, frozenset({Role.developer}))
        admin = Principal(0, identity.FIRST_ADMIN, master, frozenset({Role.admin}))
        public = packages.generate_key(work / "key.pem")
        key = packages.load_key(work / "key.pem")
        store.register_key(db, admin, public, "bench", "Stadslab BV")
        sources = {app: ROOT / "apps" / app for app in (APPS[:1] if quick else APPS)}
        sources["bad-socket"] = _bad_app(work)
        refs = {}
        for app, path in sources.items():
            version = store.publish(db, developer, packages.from_path(path, key))
            accreditation.submit(db, developer, version.label)
            refs[app] = version.label
        started = time.perf_counter()
        reference_runs.reference_twins(db, SAMPLES)
        twins_s = time.perf_counter() - started
        executor = LocalExecutor(slots=1)
        runtime = Runtime(db, executor, work / "home")
        results: dict[str, Any] = {}
        try:
            for app, ref in refs.items():
                rounds = []
                for _ in range(2):
                    before = _runs(db)
                    started = time.perf_counter()
                    done = accreditation.run_checks(runtime, admin, ref, SAMPLES)
                    wall = time.perf_counter() - started
                    measured = next(r for r in done.results if r.check == "resources").evidence
                    cases = next(r for r in done.results if r.check == "reference-cases")
                    rounds.append(
                        {
                            "kind": done.kind,
                            "wall_s": round(wall, 2),
                            "sandboxed_runs": _runs(db) - before,
                            "passed": done.passed,
                            "failed": [r.check for r in done.failed],
                            "delft_run": measured.get("measured", {}),
                            "reference_cases": [
                                {k: v[k] for k in ("output", "expected", "got", "ok")}
                                for case in cases.evidence.get("cases", [])
                                for v in case.get("values", [])
                            ],
                        }
                    )
                    print(f"{ref}: round {done.round} ({done.kind}) {wall:.1f} s, "
                          f"{rounds[-1]['sandboxed_runs']} runs, failed {rounds[-1]['failed']}",
                          flush=True)  # fmt: skip
                results[app] = rounds
        finally:
            executor.close()
        return {"reference_twins_import_s": round(twins_s, 2), "apps": results}


def report(results: dict[str, Any]) -> str:
    lines = [
        f"Reference twins imported once in {results['reference_twins_import_s']} s.",
        "",
        "| app | round | wall (s) | sandboxed runs | verdict | Delft run peak MB / s |",
        "|---|---|---|---|---|---|",
    ]
    for app, rounds in results["apps"].items():
        for n, r in enumerate(rounds, 1):
            verdict = "passed" if r["passed"] else "failed " + ", ".join(r["failed"])
            delft = r["delft_run"]
            peak = delft.get("peak_rss_mb")
            wall = delft.get("wall_s")
            shown = f"{peak:.0f} / {wall:.1f}" if peak is not None and wall is not None else "–"
            lines.append(
                f"| {app} | {n} ({r['kind']}) | {r['wall_s']} | {r['sandboxed_runs']} | "
                f"{verdict} | {shown} |"
            )
    lines += ["", "| app | reference value | expected | got | within tolerance |",
              "|---|---|---|---|---|"]  # fmt: skip
    for app, rounds in results["apps"].items():
        for value in rounds[0]["reference_cases"]:
            got = value["got"]
            shown = f"{got:.4g}" if isinstance(got, int | float) else str(got)
            lines.append(f"| {app} | {value['output']} | {value['expected']} | {shown} | "
                         f"{'yes' if value['ok'] else 'no'} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="solar potential only")
    args = parser.parse_args()
    results = measure(args.quick)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "accreditation.json").write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


if __name__ == "__main__":
    main()
