"""The app sandbox's start-up overhead per run: the same trivial app launched with the OS
sandbox (bubblewrap, seccomp, Landlock, own uid) and without it, many times, on one machine.

    make bench-sandbox                   # 40 runs each
    python benchmarks/sandbox.py --runs 10

What is timed is :func:`tweeling.apps.sandbox.launch` from call to outcome — everything the
platform does for a run besides preparing inputs: the worker's start, the sandbox, the pipes,
reading and checking the outputs. The app returns one indicator, so the difference of the
medians is the sandbox's own cost. Results go to benchmarks/out/sandbox.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT / "src"))

from tweeling.apps import isolation  # noqa: E402
from tweeling.apps.sandbox import NO_SANDBOX, OS_SANDBOX, Limits, RunSpec, launch  # noqa: E402

APP = """
from tweeling.sdk import Outputs

def run(inputs, parameters, context):
    out = Outputs()
    out.indicator("answer", 42)
    return out
"""


def _layout(root: Path) -> tuple[Path, Path]:
    app = root / "app"
    (app / "trivial").mkdir(parents=True)
    (app / "trivial" / "__init__.py").write_text("")
    (app / "trivial" / "app.py").write_text(APP)
    return app, root / "runs"


def _one(app: Path, runs: Path, index: int, mode: str) -> float:
    run_dir = runs / f"{mode}-{index}"
    (run_dir / "inputs").mkdir(parents=True)
    (run_dir / "inputs" / "inputs.json").write_text(
        json.dumps({"twin": "t", "scenario": "s", "crs": "EPSG:28992", "layers": {}})
    )
    spec = RunSpec(
        str(run_dir), str(app), "trivial.app:run", {}, Limits(64, 10, 30.0), isolation=mode
    )
    started = time.perf_counter()
    outcome = launch(spec)
    elapsed = time.perf_counter() - started
    if outcome.status != "successful" or outcome.outputs != {
        "attributes": {},
        "indicators": {"answer": 42},
        "layers": {},
    }:
        raise SystemExit(f"run {mode} {index}: {outcome.status} {outcome.message}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    problem = isolation.problem()
    if problem:
        raise SystemExit(f"no sandbox on this machine: {problem}")
    with tempfile.TemporaryDirectory(prefix="tweeling-bench-sandbox-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        app, runs = _layout(root)
        _one(app, runs, -1, OS_SANDBOX)  # warm the page cache and the seccomp program
        _one(app, runs, -1 - 1, NO_SANDBOX)
        timings: dict[str, list[float]] = {OS_SANDBOX: [], NO_SANDBOX: []}
        for index in range(args.runs):  # interleaved, so drift in the machine hits both
            for mode in (OS_SANDBOX, NO_SANDBOX):
                timings[mode].append(_one(app, runs, index, mode))
    medians = {mode: statistics.median(values) for mode, values in timings.items()}
    result = {
        "runs": args.runs,
        "as_root": os.geteuid() == 0,
        "landlock_abi": _landlock(),
        "median_ms": {mode: round(v * 1000, 1) for mode, v in medians.items()},
        "p90_ms": {
            mode: round(statistics.quantiles(v, n=10)[-1] * 1000, 1) for mode, v in timings.items()
        },
        "overhead_median_ms": round((medians[OS_SANDBOX] - medians[NO_SANDBOX]) * 1000, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sandbox.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def _landlock() -> int:
    from tweeling.apps import landlock

    return landlock.abi_version()


if __name__ == "__main__":
    main()
