"""Starting an app's worker in the operating-system sandbox, and deciding how it ended.

:func:`launch` is all an executor calls; it needs nothing from the database, so it runs the
same in this process's thread pool or on a Dask worker. A run directory holds ``inputs/``
(sealed read-only) and, while the run goes, ``outputs.json`` and ``log.txt``, which only
this process writes.

The worker runs under bubblewrap (:mod:`tweeling.apps.isolation`): it sees its package, its
inputs and a private work directory, nothing of the platform. It talks back through pipes
this process reads — events (progress, refusals, its own account of how it ended), outputs
and its log — each limited in size (and events in rate), so an app can neither flood the
platform nor write a file the platform would later believe. The platform decides: the run's
status follows from the exit status, the limits it hit as measured here, and, for a run
that says it succeeded, outputs that parse within the cap (the manifest check follows in
:mod:`tweeling.apps.runs`).

Where no sandbox can be set up the run does not start (status ``sandbox-unavailable``, with
the reason). Only a developer running an app folder may ask for ``isolation="none"``: the
worker then runs as a plain child process with its audit hook and limits, and the run is
flagged ``unsandboxed``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tweeling.apps import isolation
from tweeling.apps.worker import EXIT_APP_ERROR, EXIT_MEMORY, EXIT_OK, high_water_kb

ProgressCallback = Callable[[float, str], None]

# How a run ended; the OGC API – Processes job status follows from it (see runs.job_status).
SUCCESSFUL = "successful"
FAILED = "failed"  # the app reported a problem with its inputs (tweeling.sdk.AppError)
CRASHED = "crashed"  # an exception in the app, or the process died
TIMEOUT = "timeout"
CPU_LIMIT = "cpu-limit"
MEMORY_LIMIT = "memory-limit"
VIOLATION = "sandbox-violation"
OUTPUT_TOO_LARGE = "invalid-output"  # the same status as outputs that break the manifest
UNAVAILABLE = "sandbox-unavailable"

OS_SANDBOX = "os"
NO_SANDBOX = "none"

# What an app may send besides its outputs.
MAX_EVENT_LINE = 4096  # bytes; a longer line is cut and counted as garbage
MAX_EVENTS_BYTES = 1024 * 1024
MAX_PROGRESS_PER_S = 10
MAX_LOG_BYTES = 1024 * 1024
_LOG_TAIL = 4000


@dataclass
class Limits:
    memory_mb: int
    cpu_s: int
    wall_s: float
    work_mb: int = 512  # the work directory's quota
    output_mb: int = 256  # the outputs document's cap


@dataclass
class RunSpec:
    """Everything a worker needs; paths are absolute, on the machine that launches it."""

    run_dir: str
    app_dir: str
    entry_point: str
    parameters: dict[str, Any]
    limits: Limits
    isolation: str = OS_SANDBOX

    @property
    def inputs_dir(self) -> Path:
        return Path(self.run_dir) / "inputs"

    @property
    def workdir(self) -> Path:
        """The work directory of an unsandboxed run (a sandboxed one has a private tmpfs)."""
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


_WORKER = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from tweeling.apps.worker import main; sys.exit(main())"
)


def _seal_inputs(inputs: Path) -> None:
    """Inputs are readable by the run's uid and by nobody writable (the mount is read-only
    as well)."""
    for path in inputs.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    inputs.chmod(0o555)


def release(run_dir: Path) -> None:
    """Make a run directory removable again (its inputs were sealed read-only)."""
    inputs = run_dir / "inputs"
    if inputs.is_dir():
        inputs.chmod(0o755)
        for path in inputs.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)


class _Events:
    """Reads the worker's event lines: bounded in size, progress passed on at a bounded rate,
    refusals kept (the first hundred) and counted."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.on_progress = on_progress
        self.violations: list[dict[str, Any]] = []
        self.violation_count = 0
        self.end: dict[str, Any] = {}
        self.dropped = 0
        self._received = 0
        self._window = deque[float]()

    def read(self, stream: io.BufferedReader) -> None:
        for raw in iter(lambda: stream.readline(MAX_EVENT_LINE), b""):
            self._received += len(raw)
            if self._received > MAX_EVENTS_BYTES or not raw.endswith(b"\n"):
                self.dropped += 1
                continue  # keep draining, so the worker never blocks on a full pipe
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self.dropped += 1
                continue
            if isinstance(event, dict):
                self._take(event)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "violation":
            self.violation_count += 1
            if len(self.violations) < 100:
                self.violations.append(
                    {
                        "kind": str(event.get("what", "?"))[:40],
                        "detail": str(event.get("detail"))[:500],
                    }
                )
        elif kind == "end" and not self.end:
            self.end = event
        elif kind == "progress" and self.on_progress is not None:
            now = time.monotonic()
            while self._window and now - self._window[0] > 1.0:
                self._window.popleft()
            if len(self._window) >= MAX_PROGRESS_PER_S:
                return
            self._window.append(now)
            fraction = event.get("fraction")
            if isinstance(fraction, (int, float)) and math.isfinite(fraction):
                with contextlib.suppress(Exception):  # a slow database must not stop draining
                    self.on_progress(
                        min(1.0, max(0.0, float(fraction))), str(event.get("message", ""))[:200]
                    )


class _Capped:
    """Copies a pipe to a file up to a cap; past it, sets ``over`` and calls ``on_over``."""

    def __init__(self, path: Path, cap: int, on_over: Callable[[], None] | None = None) -> None:
        self.path, self.cap, self.on_over = path, cap, on_over
        self.size = 0
        self.over = False

    def read(self, stream: io.BufferedReader) -> None:
        with open(self.path, "wb") as out:
            for chunk in iter(lambda: stream.read1(1 << 16), b""):
                if self.over:
                    continue  # drain and drop
                if self.size + len(chunk) > self.cap:
                    out.write(chunk[: self.cap - self.size])
                    self.size = self.cap
                    self.over = True
                    if self.on_over is not None:
                        self.on_over()
                    continue
                out.write(chunk)
                self.size += len(chunk)


def _thread(target: Callable[[io.BufferedReader], None], fd: int) -> threading.Thread:
    stream = os.fdopen(fd, "rb")

    def run() -> None:
        with stream:
            target(stream)

    worker = threading.Thread(target=run, daemon=True, name="tweeling-run-pipe")
    worker.start()
    return worker


def _environment(spec: RunSpec, workdir: str) -> dict[str, str]:
    """A clean environment: nothing of the platform's (database URL, tokens) reaches the app.

    Libraries that cache what they compile or compute write beside their own files or in the
    home folder unless told otherwise (numba, which pythermalcomfort uses; matplotlib): the
    home and their caches are the run's work directory, the one place the app may write. The
    cores the manifest declares are what threaded libraries and the SDK's ray casting use.
    """
    threads = str(max(1, math.ceil(spec.limits.cpu_s / max(spec.limits.wall_s, 1))))
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": f"{workdir}/tmp",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "TWEELING_CPUS": threads,
        "MPLCONFIGDIR": f"{workdir}/tmp",
        "NUMBA_CACHE_DIR": f"{workdir}/.cache/numba",
    }


def _sandbox_pids(root: int) -> list[int]:
    """The process ``root`` and its descendants, as /proc shows them now."""
    found: list[int] = []
    todo = [root]
    while todo and len(found) < 4096:
        pid = todo.pop()
        found.append(pid)
        with contextlib.suppress(OSError, ValueError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                    todo.extend(int(c) for c in handle.read().split())
    return found


def _child_pid(info_fd: int, deadline: float) -> int | None:
    """The sandbox's first process as bubblewrap reports it on its info pipe."""
    data = b""
    os.set_blocking(info_fd, False)
    while time.monotonic() < deadline:
        try:
            chunk = os.read(info_fd, 4096)
        except BlockingIOError:
            time.sleep(0.002)
            continue
        if not chunk:
            break
        data += chunk
        with contextlib.suppress(orjson.JSONDecodeError):
            pid = orjson.loads(data).get("child-pid")
            return int(pid) if isinstance(pid, int) else None
    return None


def launch(spec: RunSpec, on_progress: ProgressCallback | None = None) -> Outcome:
    """Run the app's worker to its end and say how it ended; never raises for the app's sake."""
    sandboxed = spec.isolation != NO_SANDBOX
    if sandboxed:
        problem = isolation.problem()
        if problem is not None:
            return Outcome(
                UNAVAILABLE, f"the sandbox could not be set up, so the run did not start: {problem}"
            )
    run_dir = Path(spec.run_dir)
    _seal_inputs(spec.inputs_dir)
    as_root = os.geteuid() == 0
    if sandboxed:
        app_dir, inputs_dir, workdir = isolation.APP, isolation.INPUTS, isolation.WORK
    else:
        spec.workdir.mkdir(parents=True, exist_ok=True)
        app_dir, inputs_dir, workdir = spec.app_dir, str(spec.inputs_dir), str(spec.workdir)
    events_read, events_write = os.pipe()
    outputs_read, outputs_write = os.pipe()
    log_read, log_write = os.pipe()
    info_read, info_write = os.pipe()
    filter_fd = isolation.seccomp_fd() if sandboxed else -1
    doc = {
        "app_dir": app_dir,
        "entry_point": spec.entry_point,
        "parameters": spec.parameters,
        "inputs_dir": inputs_dir,
        "workdir": workdir,
        "limits": {**asdict(spec.limits), "own_uid": sandboxed},
        "events_fd": events_write,
        "outputs_fd": outputs_write,
    }
    # Isolated mode ignores PYTHONPATH, so the worker is told where this Tweeling came from
    # (a checkout run with PYTHONPATH=src, an editable install): the same code, mounted
    # read-only by the sandbox.
    worker = [sys.executable, "-I", "-B", "-c", _WORKER.format(root=str(isolation.package_root()))]
    flags: list[str] = []
    if sandboxed:
        layout = isolation.Layout(Path(spec.app_dir), spec.inputs_dir, spec.limits.work_mb)
        uid = isolation.run_uid() if as_root else None
        command = [*isolation.command(layout, filter_fd, info_write, uid), *worker]
        passed: tuple[int, ...] = (events_write, outputs_write, filter_fd, info_write)
    else:
        command = worker
        passed = (events_write, outputs_write)
        flags.append("unsandboxed")
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command,
            cwd=workdir if not sandboxed else "/",
            env=_environment(spec, workdir),
            stdin=subprocess.PIPE,
            stdout=log_write,
            stderr=subprocess.STDOUT,
            pass_fds=passed,
            start_new_session=True,
        )
    finally:
        for fd in (events_write, outputs_write, log_write, info_write, filter_fd):
            if fd >= 0:
                os.close(fd)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if inner is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(inner, signal.SIGKILL)

    inner: int | None = None
    events = _Events(on_progress)
    outputs = _Capped(run_dir / "outputs.json", spec.limits.output_mb * 1024 * 1024, kill)
    log = _Capped(run_dir / "log.txt", MAX_LOG_BYTES)
    readers = [
        _thread(events.read, events_read),
        _thread(outputs.read, outputs_read),
        _thread(log.read, log_read),
    ]
    feeder = threading.Thread(target=_feed, args=(process, orjson.dumps(doc)), daemon=True)
    feeder.start()
    if sandboxed:
        inner = _child_pid(info_read, started + 10.0)
    os.close(info_read)
    code, cpu_s, timed_out, peak_kb = _wait(process, spec, inner, started, kill)
    for reader in readers:
        reader.join(timeout=5.0)
    feeder.join(timeout=1.0)
    wall = time.monotonic() - started
    measured = {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu_s, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    if sandboxed:
        code = _child_code(code)
    if events.dropped:
        flags.append(f"events-dropped:{events.dropped}")
    if log.over:
        flags.append("log-truncated")
    outcome = _classify(spec, run_dir, code, timed_out, outputs, events, flags, measured)
    (run_dir / "outputs.json").unlink(missing_ok=True)
    return outcome


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    with contextlib.suppress(OSError):
        process.stdin.write(data)
    with contextlib.suppress(OSError):
        process.stdin.close()


def _child_code(code: int) -> int:
    """bubblewrap exits with its child's status, or 128 + the signal that ended it."""
    if code > 128 and code - 128 in {int(s) for s in signal.Signals}:
        return -(code - 128)
    return code


def _wait(
    process: subprocess.Popen[bytes],
    spec: RunSpec,
    inner: int | None,
    started: float,
    kill: Callable[[], None],
) -> tuple[int, float, bool, int]:
    """Poll the worker (memory, CPU, the wall clock) until it ends; kill it when overdue.
    Returns its exit code, CPU seconds, whether it timed out, and peak memory (kB) of its
    largest process, read from /proc here (the worker's own report is not believed)."""
    deadline = started + spec.limits.wall_s
    timed_out = False
    peak_kb = 0
    cpu_s = 0.0
    root = inner if inner is not None else process.pid
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            # bubblewrap's outer process does not reap the namespace's first process, so
            # its rusage lacks the run: the CPU time sampled from /proc stands in for it.
            cpu_s = max(cpu_s, usage.ru_utime + usage.ru_stime)
            return process.returncode, cpu_s, timed_out, peak_kb
        members = _sandbox_pids(root)
        for member in members:
            peak_kb = max(peak_kb, high_water_kb(member))
        cpu_s = max(cpu_s, _cpu_seconds(members, root))
        if time.monotonic() > deadline and not timed_out:
            timed_out = True
            kill()
        time.sleep(0.02)


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(members: list[int], root: int) -> float:
    """CPU time of the live processes, plus what the first one has reaped of the others."""
    total = 0
    for pid in members:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == root:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime of reaped children
    return total / _TICKS


def _classify(
    spec: RunSpec,
    run_dir: Path,
    code: int,
    timed_out: bool,
    outputs: _Capped,
    events: _Events,
    flags: list[str],
    measured: dict[str, float],
) -> Outcome:
    log_tail = _tail(run_dir / "log.txt")
    violations = events.violations
    end = events.end
    reported = end.get("peak_rss_mb")
    if not measured["peak_rss_mb"] and isinstance(reported, (int, float)):
        measured["peak_rss_mb"] = float(reported)  # a run too short to be polled

    def outcome(status: str, message: str, result: dict[str, Any] | None = None) -> Outcome:
        return Outcome(status, message, result, violations, flags, measured, log_tail)

    limits = spec.limits
    if outputs.over:
        return outcome(
            OUTPUT_TOO_LARGE,
            f"the app's outputs exceed the output cap of {limits.output_mb} MB; "
            "nothing was read past it",
        )
    if timed_out:
        return outcome(TIMEOUT, f"stopped after its wall-clock limit of {limits.wall_s:g} s")
    # Only RLIMIT_CPU sends SIGXCPU (an app that sends it to itself only fails itself); the
    # hard limit, five seconds on, kills.
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and measured["cpu_s"] >= limits.cpu_s):
        return outcome(CPU_LIMIT, f"stopped at its CPU-time limit of {limits.cpu_s} s")
    if violations:
        kinds = sorted({v["kind"] for v in violations})
        return outcome(
            VIOLATION,
            f"the sandbox refused {events.violation_count} attempt(s) ({', '.join(kinds)}), "
            f"first: {violations[0]['detail']}",
        )
    message = str(end.get("message", ""))
    if code == EXIT_MEMORY:
        return outcome(MEMORY_LIMIT, f"ran out of its memory limit of {limits.memory_mb} MB")
    if code == EXIT_APP_ERROR:
        return outcome(FAILED, message or "the app stopped with an error about its inputs")
    if code == EXIT_OK:
        try:
            result = orjson.loads((run_dir / "outputs.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return outcome(CRASHED, "the app's process ended without readable outputs")
        if not isinstance(result, dict):
            return outcome(CRASHED, "the app's outputs are not a JSON object")
        return outcome(SUCCESSFUL, "", result)
    if code < 0:
        name = signal.Signals(-code).name
        return outcome(CRASHED, f"the app's process was ended by {name}")
    if message:
        return outcome(CRASHED, f"the app failed: {message}")
    return outcome(CRASHED, f"the app's process exited with status {code} without a result")


def _tail(path: Path, size: int = _LOG_TAIL) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode("utf-8", errors="replace")
