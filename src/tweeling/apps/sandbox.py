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
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from tweeling.apps import cgroups, channels, isolation
from tweeling.apps.worker import (
    BASELINE_MB,
    EXIT_APP_ERROR,
    EXIT_MEMORY,
    EXIT_OK,
    high_water_kb,
)

ProgressCallback = Callable[[float, str], None]


class RunStatus(StrEnum):
    """Where a run stands or how it ended (the ``status`` of an app run or a recipe run).

    The OGC API – Processes job status follows from it (see runs.job_status).
    """

    accepted = "accepted"  # waiting for a worker
    running = "running"
    successful = "successful"
    failed = "failed"  # the app reported a problem with its inputs (tweeling.sdk.AppError)
    crashed = "crashed"  # an exception in the app, or the process died
    timeout = "timeout"
    cpu_limit = "cpu-limit"
    memory_limit = "memory-limit"
    sandbox_violation = "sandbox-violation"
    invalid_output = "invalid-output"  # outputs too large or breaking the manifest
    sandbox_unavailable = "sandbox-unavailable"
    dismissed = "dismissed"


# The names the rest of the platform has long imported from here.
SUCCESSFUL = RunStatus.successful
FAILED = RunStatus.failed
CRASHED = RunStatus.crashed
TIMEOUT = RunStatus.timeout
CPU_LIMIT = RunStatus.cpu_limit
MEMORY_LIMIT = RunStatus.memory_limit
VIOLATION = RunStatus.sandbox_violation
OUTPUT_TOO_LARGE = RunStatus.invalid_output
UNAVAILABLE = RunStatus.sandbox_unavailable

OS_SANDBOX = "os"
NO_SANDBOX = "none"

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
    # the environment of the libraries the app declares (tweeling.apps.environments), if any
    env_dir: str | None = None

    @property
    def inputs_dir(self) -> Path:
        return Path(self.run_dir) / "inputs"

    @property
    def workdir(self) -> Path:
        """The work directory of an unsandboxed run (a sandboxed one has a private tmpfs)."""
        return Path(self.run_dir) / "work"


@dataclass
class Outcome:
    status: RunStatus
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
    _seal_inputs(spec.inputs_dir)
    as_root = os.geteuid() == 0
    if sandboxed:
        app_dir, inputs_dir, workdir = isolation.APP, isolation.INPUTS, isolation.WORK
        env_dir = isolation.ENV if spec.env_dir is not None else None
    else:
        spec.workdir.mkdir(parents=True, exist_ok=True)
        app_dir, inputs_dir, workdir = spec.app_dir, str(spec.inputs_dir), str(spec.workdir)
        env_dir = spec.env_dir
    pipes = _Pipes.open(sandboxed)
    doc = {
        "app_dir": app_dir,
        "env_dir": env_dir,
        "entry_point": spec.entry_point,
        "parameters": spec.parameters,
        "inputs_dir": inputs_dir,
        "workdir": workdir,
        "limits": {**asdict(spec.limits), "own_uid": sandboxed},
        "events_fd": pipes.events[1],
        "outputs_fd": pipes.outputs[1],
    }
    # Isolated mode ignores PYTHONPATH, so the worker is told where this Tweeling came from
    # (a checkout run with PYTHONPATH=src, an editable install): the same code, mounted
    # read-only by the sandbox.
    worker = [sys.executable, "-I", "-B", "-c", _WORKER.format(root=str(isolation.package_root()))]
    flags: list[str] = []
    if sandboxed:
        env = Path(spec.env_dir) if spec.env_dir is not None else None
        layout = isolation.Layout(Path(spec.app_dir), spec.inputs_dir, spec.limits.work_mb, env)
        uid = isolation.run_uid() if as_root else None
        command = [*isolation.command(layout, pipes.seccomp, pipes.info[1], uid), *worker]
        passed: tuple[int, ...] = (pipes.events[1], pipes.outputs[1], pipes.seccomp, pipes.info[1])
    else:
        command = worker
        passed = (pipes.events[1], pipes.outputs[1])
        flags.append("unsandboxed")
    # Everything the run holds together — shared mappings, memfd, its tmpfs work directory,
    # all its processes — within one limit, where the machine lets us make a cgroup.
    group = cgroups.create(spec.limits.memory_mb + BASELINE_MB)
    if group is not None:
        command = [*cgroups.enter(group), *command]
    else:
        flags.append("memory-per-process")
    try:
        return _run(spec, command, passed, group, flags, doc, on_progress, pipes)
    finally:
        if group is not None:
            group.remove()


@dataclass
class _Pipes:
    """The descriptors between the platform and the worker: each pair is (read, write)."""

    events: tuple[int, int]
    outputs: tuple[int, int]
    log: tuple[int, int]
    info: tuple[int, int]
    seccomp: int  # bubblewrap reads the filter from it; -1 for an unsandboxed run

    @classmethod
    def open(cls, sandboxed: bool) -> _Pipes:
        return cls(
            os.pipe(),
            os.pipe(),
            os.pipe(),
            os.pipe(),
            isolation.seccomp_fd() if sandboxed else -1,
        )

    def close_childs_ends(self) -> None:
        for fd in (self.events[1], self.outputs[1], self.log[1], self.info[1], self.seccomp):
            if fd >= 0:
                os.close(fd)


def _run(
    spec: RunSpec,
    command: list[str],
    passed: tuple[int, ...],
    group: cgroups.RunGroup | None,
    flags: list[str],
    doc: dict[str, Any],
    on_progress: ProgressCallback | None,
    pipes: _Pipes,
) -> Outcome:
    run_dir = Path(spec.run_dir)
    sandboxed = spec.isolation != NO_SANDBOX
    workdir = str(doc["workdir"])
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command,
            cwd=workdir if not sandboxed else "/",
            env=_environment(spec, workdir),
            stdin=subprocess.PIPE,
            stdout=pipes.log[1],
            stderr=subprocess.STDOUT,
            pass_fds=passed,
            start_new_session=True,
        )
    finally:
        pipes.close_childs_ends()
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if inner is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(inner, signal.SIGKILL)

    inner: int | None = None
    events = channels.Events(on_progress)
    outputs = channels.Capped(run_dir / "outputs.json", spec.limits.output_mb * 1024 * 1024, kill)
    log = channels.Capped(run_dir / "log.txt", channels.MAX_LOG_BYTES)
    readers = [
        channels.reader(events.read, pipes.events[0]),
        channels.reader(outputs.read, pipes.outputs[0]),
        channels.reader(log.read, pipes.log[0]),
    ]
    feeder = threading.Thread(target=_feed, args=(process, orjson.dumps(doc)), daemon=True)
    feeder.start()
    if sandboxed:
        inner = _child_pid(pipes.info[0], started + 10.0)
    os.close(pipes.info[0])
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
    if group is not None:
        measured["run_memory_mb"] = round(group.peak_mb(), 1)
        if group.oom_killed():
            flags.append("oom-killed")
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
    outputs: channels.Capped,
    events: channels.Events,
    flags: list[str],
    measured: dict[str, float],
) -> Outcome:
    log_tail = _tail(run_dir / "log.txt")
    violations = events.violations
    end = events.end
    reported = end.get("peak_rss_mb")
    if not measured["peak_rss_mb"] and isinstance(reported, (int, float)):
        measured["peak_rss_mb"] = float(reported)  # a run too short to be polled

    def outcome(status: RunStatus, message: str, result: dict[str, Any] | None = None) -> Outcome:
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
    if "oom-killed" in flags:
        return outcome(
            MEMORY_LIMIT,
            f"the run went past its memory limit of {limits.memory_mb} MB "
            f"(+ {BASELINE_MB} MB for the runtime), counting all its processes, shared "
            "memory and its work directory",
        )
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
