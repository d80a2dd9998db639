"""Starting an app's worker process with hard limits, and telling how it ended.

A run directory holds ``spec.json`` (what to run, on which inputs, with which limits),
``inputs/`` (read by the app), ``work/`` (the app's only writable place, also its TMPDIR and
HOME) and, once the worker ends, ``result.json``, ``progress.jsonl``, ``events.jsonl`` and
``log.txt``. :func:`launch` is all an executor calls; it needs nothing from the database, so
it runs the same in this process's thread pool or on a Dask worker.

The worker is started under ``unshare --user --map-root-user --net``: its own network
namespace, with no interfaces but a downed loopback, and a user namespace in which it cannot
raise the limits it set itself. Where the kernel refuses namespaces the run still goes ahead,
with sockets refused by the worker's audit hook, and is flagged ``network-not-isolated``.
The wall-clock limit is the parent's: the worker's whole process group is killed.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

ProgressCallback = Callable[[float, str], None]

# How a run ended; the OGC API – Processes job status follows from it (see runs.job_status).
SUCCESSFUL = "successful"
FAILED = "failed"  # the app reported a problem with its inputs (tweeling.sdk.AppError)
CRASHED = "crashed"  # an exception in the app, or the process died
TIMEOUT = "timeout"
CPU_LIMIT = "cpu-limit"
MEMORY_LIMIT = "memory-limit"
VIOLATION = "sandbox-violation"


@dataclass
class Limits:
    memory_mb: int
    cpu_s: int
    wall_s: float


@dataclass
class RunSpec:
    """Everything a worker needs; paths are absolute, on the machine that launches it."""

    run_dir: str
    app_dir: str
    entry_point: str
    parameters: dict[str, Any]
    limits: Limits

    @property
    def inputs_dir(self) -> Path:
        return Path(self.run_dir) / "inputs"

    @property
    def workdir(self) -> Path:
        return Path(self.run_dir) / "work"


@dataclass
class Outcome:
    status: str
    message: str
    outputs: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    log_tail: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def namespace_prefix() -> tuple[str, ...]:
    """The ``unshare`` command line that isolates the worker, or () where it is refused or
    switched off (``TWEELING_SANDBOX_NAMESPACES=off``, for kernels that forbid them)."""
    if os.environ.get("TWEELING_SANDBOX_NAMESPACES", "on").lower() in ("off", "0", "no"):
        return ()
    return _probe_namespaces()


@functools.cache
def _probe_namespaces() -> tuple[str, ...]:
    tool = shutil.which("unshare")
    if tool is None:
        return ()
    command = (tool, "--user", "--map-root-user", "--net")
    try:
        probe = subprocess.run([*command, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return command if probe.returncode == 0 else ()


def _environment(spec: RunSpec) -> dict[str, str]:
    """A clean environment: nothing of the platform's (database URL, tokens) reaches the app.

    Libraries that cache what they compile or compute write beside their own files or in the
    home folder unless told otherwise (numba, which pythermalcomfort uses; matplotlib): the
    home and their caches are the run's work directory, the one place the app may write. The
    cores the manifest declares are what threaded libraries and the SDK's ray casting use.
    """
    work = str(spec.workdir)
    threads = str(max(1, math.ceil(spec.limits.cpu_s / max(spec.limits.wall_s, 1))))
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": work,
        "TMPDIR": str(spec.workdir / "tmp"),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "TWEELING_CPUS": threads,
        "MPLCONFIGDIR": str(spec.workdir / "tmp"),
        "NUMBA_CACHE_DIR": str(spec.workdir / ".cache" / "numba"),
    }


def high_water_kb(pid: int | str = "self") -> int:
    """A process's peak resident memory (VmHWM, kB) since it last exec'd; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            lines.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            continue  # a line cut short by a kill
    return lines


def _tail(path: Path, size: int = 4000) -> str:
    if not path.exists():
        return ""
    data = path.read_bytes()
    return data[-size:].decode("utf-8", errors="replace")


def _seal_inputs(inputs: Path) -> None:
    """Inputs are read-only to the app (the audit hook also refuses writes outside work/)."""
    for path in inputs.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    inputs.chmod(0o555)


def release(run_dir: Path) -> None:
    """Make a run directory removable again (its inputs were sealed read-only)."""
    inputs = run_dir / "inputs"
    if inputs.is_dir():
        inputs.chmod(0o755)
        for path in inputs.rglob("*"):
            if path.is_file():
                path.chmod(0o644)


def launch(spec: RunSpec, on_progress: ProgressCallback | None = None) -> Outcome:
    """Run the app's worker to its end and say how it ended; never raises for the app's sake."""
    run_dir = Path(spec.run_dir)
    spec.workdir.mkdir(parents=True, exist_ok=True)
    (spec.workdir / "tmp").mkdir(exist_ok=True)
    _seal_inputs(spec.inputs_dir)
    doc = {
        "app_dir": spec.app_dir,
        "entry_point": spec.entry_point,
        "parameters": spec.parameters,
        "inputs_dir": str(spec.inputs_dir),
        "workdir": str(spec.workdir),
        "limits": asdict(spec.limits),
    }
    (run_dir / "spec.json").write_bytes(orjson.dumps(doc))
    for stale in ("result.json", "progress.jsonl", "events.jsonl"):
        (run_dir / stale).unlink(missing_ok=True)
    prefix = namespace_prefix()
    flags = [] if prefix else ["network-not-isolated"]
    command = [*prefix, sys.executable, "-I", "-B", "-m", "tweeling.apps.worker", str(run_dir)]
    started = time.monotonic()
    with open(run_dir / "log.txt", "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=spec.workdir,
            env=_environment(spec),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        status, usage, timed_out, peak_kb = _wait(process, spec, run_dir, started, on_progress)
    wall = time.monotonic() - started
    # Peak memory is the worker's own high-water mark (VmHWM), polled here and reported by
    # the worker at its end: rusage's ru_maxrss would include this process's memory, which
    # a forked child inherits as its starting mark.
    measured = {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3) if usage else 0.0,
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    return _classify(spec, run_dir, status, timed_out, flags, measured)


def _wait(
    process: subprocess.Popen[bytes],
    spec: RunSpec,
    run_dir: Path,
    started: float,
    on_progress: ProgressCallback | None,
) -> tuple[int, Any, bool, int]:
    """Poll the worker (progress lines, memory, the wall clock) until it ends; kill it when
    overdue. Returns its exit code, resource usage, whether it timed out, peak memory (kB)."""
    deadline = started + spec.limits.wall_s
    seen = 0
    timed_out = False
    peak_kb = 0

    def report() -> None:
        nonlocal seen
        if on_progress is not None:
            lines = _read_lines(run_dir / "progress.jsonl")
            for line in lines[seen:]:
                on_progress(float(line.get("fraction", 0)), str(line.get("message", "")))
            seen = len(lines)

    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            report()
            return process.returncode, usage, timed_out, peak_kb
        report()
        peak_kb = max(peak_kb, high_water_kb(process.pid))
        if time.monotonic() > deadline and not timed_out:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.05)


def _classify(
    spec: RunSpec,
    run_dir: Path,
    code: int,
    timed_out: bool,
    flags: list[str],
    measured: dict[str, float],
) -> Outcome:
    events = _read_lines(run_dir / "events.jsonl")
    log_tail = _tail(run_dir / "log.txt")
    try:
        result = orjson.loads((run_dir / "result.json").read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        result = {}

    reported = result.get("peak_rss_mb")
    if isinstance(reported, (int, float)):
        measured["peak_rss_mb"] = max(measured["peak_rss_mb"], float(reported))

    def outcome(status: str, message: str, outputs: dict[str, Any] | None = None) -> Outcome:
        return Outcome(status, message, outputs, events, flags, measured, log_tail)

    limits = spec.limits
    if timed_out:
        return outcome(TIMEOUT, f"stopped after its wall-clock limit of {limits.wall_s:g} s")
    if code in (-signal.SIGXCPU, -signal.SIGKILL) and measured["cpu_s"] >= limits.cpu_s - 1:
        return outcome(CPU_LIMIT, f"stopped at its CPU-time limit of {limits.cpu_s} s")
    if events:
        kinds = sorted({e.get("kind", "?") for e in events})
        first = events[0].get("detail", "")
        return outcome(
            VIOLATION,
            f"the sandbox refused {len(events)} attempt(s) ({', '.join(kinds)}), first: {first}",
        )
    state = result.get("status")
    if state == "memory":
        return outcome(MEMORY_LIMIT, f"ran out of its memory limit of {limits.memory_mb} MB")
    if state == "app-error":
        return outcome(FAILED, str(result.get("message", "")))
    if state == "error":
        return outcome(CRASHED, f"the app failed: {result.get('message', '')}")
    if state == "ok" and code == 0:
        return outcome(SUCCESSFUL, "", result.get("outputs") or {})
    if code < 0:
        name = signal.Signals(-code).name
        return outcome(CRASHED, f"the app's process was ended by {name}")
    return outcome(CRASHED, f"the app's process exited with status {code} without a result")
