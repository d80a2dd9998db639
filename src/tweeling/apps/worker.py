"""The process an app runs in: ``python -I -B -m tweeling.apps.worker`` inside the sandbox.

Started by :mod:`tweeling.apps.sandbox` under bubblewrap (:mod:`tweeling.apps.isolation`), it
reads what to run from its standard input, lowers its own limits (memory, CPU time, processes,
open files, file size; without capabilities they cannot be raised again), installs an audit
hook that refuses — and reports — opening sockets, starting processes and writing anywhere
but the work directory, then imports the app from its folder and calls its entry point.

Everything this process says leaves through two pipes the platform reads: *events* (progress,
refusals, how it ended; JSON lines, which the platform limits in rate and size) and *outputs*
(one JSON document, which the platform caps in size and validates). Nothing here is trusted:
once the app is imported it can rewrite this module, so the platform decides what happened
from the exit status and its own checks, and the walls are the kernel's. The hook is a
second line that names what an app tried.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import orjson

from tweeling.apps import landlock

# The runtime's own memory (interpreter, numpy, pyarrow) on top of what the app declares.
BASELINE_MB = 256
# Processes and threads a run may have at once (threads count: numba and BLAS pools).
MAX_TASKS = 64
MAX_OPEN_FILES = 256
# Exit codes the platform reads (anything else: the app's process died or exited itself).
EXIT_OK, EXIT_ERROR, EXIT_APP_ERROR, EXIT_MEMORY = 0, 1, 2, 3

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_SPAWN_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
)
_NETWORK_EVENTS = (
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
)
_PATH_EVENTS = {  # event: index of the path argument that is changed
    "os.remove": 0,
    "os.rename": 1,
    "os.rmdir": 0,
    "os.mkdir": 0,
    "os.chmod": 0,
    "os.chown": 0,
    "os.truncate": 0,
    "os.link": 1,
    "os.symlink": 1,
    "os.utime": 0,
    "shutil.rmtree": 0,
}


class _Channel:
    """JSON lines to the platform over the events pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, doc: dict[str, Any]) -> None:
        _write_all(self.fd, orjson.dumps(doc) + b"\n")


class _Sandbox:
    def __init__(self, workdir: Path, channel: _Channel) -> None:
        self.workdir = str(workdir.resolve())
        self.channel = channel
        self.armed = False

    def _inside(self, path: Any) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor: the check happened when it was opened
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        resolved = os.path.realpath(os.fspath(path))
        return bool(resolved == self.workdir or resolved.startswith(self.workdir + os.sep))

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and path is not None and not self._inside(path):
                self._refuse("write-outside-workdir", f"open({path!r}, {mode or flags!r})")
        elif event in _PATH_EVENTS:
            path = args[_PATH_EVENTS[event]] if len(args) > _PATH_EVENTS[event] else None
            if path is not None and not self._inside(path):
                if event == "os.mkdir" and os.path.basename(os.fsdecode(path)) == "__pycache__":
                    # numba (and others) probe for a cache beside the code, then fall back to
                    # the cache folder in the work directory: a probe, not an attempt.
                    raise PermissionError(f"read-only: {path!r}")
                self._refuse("write-outside-workdir", f"{event}({path!r})")
        elif event.startswith(_SPAWN_EVENTS):
            self._refuse("spawn-process", f"{event}{_short(args)}")
        elif event == "socket.bind" and _loopback(args):
            return  # probing for IPv6 (urllib3 does at import) reaches no one
        elif event in _NETWORK_EVENTS:
            self._refuse("network", f"{event}{_short(args)}")

    def _refuse(self, kind: str, detail: str) -> None:
        self.armed = False  # reporting must not trip the hook itself
        try:
            self.channel.send({"kind": "violation", "what": kind, "detail": detail[:500]})
        finally:
            self.armed = True
        raise PermissionError(f"refused by the Tweeling sandbox: {kind}: {detail}")


def _loopback(args: tuple[Any, ...]) -> bool:
    address = args[1] if len(args) > 1 else None
    host = address[0] if isinstance(address, tuple) and address else None
    return host in ("127.0.0.1", "::1", "localhost")


def _short(args: tuple[Any, ...]) -> str:
    text = repr(args)
    return text if len(text) < 200 else text[:200] + "…)"


def _limit(kind: int, value: int) -> None:
    with contextlib.suppress(ValueError, OSError):  # already lower: keep the lower one
        resource.setrlimit(kind, (value, value))


def _apply_limits(limits: dict[str, Any]) -> None:
    memory = (int(limits["memory_mb"]) + BASELINE_MB) * 1024 * 1024
    _limit(resource.RLIMIT_DATA, memory)
    cpu = int(limits["cpu_s"])
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    _limit(resource.RLIMIT_NOFILE, MAX_OPEN_FILES)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, int(limits.get("work_mb", 1024)) * 1024 * 1024)
    if limits.get("own_uid"):
        # Counted per uid: with a uid of its own this is exactly the run's processes. An
        # unsandboxed run shares the developer's uid, whose other processes count too.
        _limit(resource.RLIMIT_NPROC, MAX_TASKS)


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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _end(channel: _Channel, status: str, message: str = "") -> None:
    with contextlib.suppress(OSError):
        channel.send(
            {
                "kind": "end",
                "status": status,
                "message": message[:2000],
                "peak_rss_mb": round(high_water_kb() / 1024, 1),
            }
        )


def _undeclared(exc: ModuleNotFoundError, app_dir: Path, has_env: bool) -> str:
    """What to say when the app imports a library the run does not have."""
    name = (exc.name or str(exc)).partition(".")[0]
    if any(
        (folder / name).exists() or (folder / f"{name}.py").exists()
        for folder in (app_dir, app_dir / "src")
    ):
        return f"{type(exc).__name__}: {exc}"  # a module of the app's own is missing
    declared = "the libraries it declares" if has_env else "any library (it declares none)"
    return (
        f"the app imports {name!r}, which is neither in the platform's runtime nor among "
        f"{declared}: add it, pinned as name==version, to requirements in tweeling-app.toml "
        f"(ModuleNotFoundError: {exc})"
    )


def main() -> int:
    spec = orjson.loads(sys.stdin.buffer.read(16 * 1024 * 1024))
    _apply_limits(spec["limits"])
    channel = _Channel(int(spec["events_fd"]))
    outputs_fd = int(spec["outputs_fd"])
    workdir = Path(spec["workdir"])
    sandbox = _Sandbox(workdir, channel)
    (workdir / "tmp").mkdir(exist_ok=True)

    from tweeling.sdk import AppError, Context, Inputs, Outputs

    last_progress = 0.0

    def progress(fraction: float, message: str) -> None:
        nonlocal last_progress
        if time.monotonic() - last_progress < 0.1 and fraction < 1.0:
            return  # the platform drops what comes faster anyway
        last_progress = time.monotonic()
        channel.send({"kind": "progress", "fraction": fraction, "message": message[:200]})

    def log(line: str) -> None:
        print(line, flush=True)

    app_dir = Path(spec["app_dir"])
    sys.path[:0] = [str(app_dir / "src"), str(app_dir)]
    if spec.get("env_dir"):
        # after the runtime: an app adds libraries, it never replaces the platform's own
        sys.path.append(str(spec["env_dir"]))
    os.chdir(workdir)
    # Libraries ask for the processor name at import (h5py, through pvlib), which Python
    # answers by running `uname -p`; answer it now, so that harmless question is no refused
    # process start inside the sandbox.
    platform.uname().processor  # noqa: B018
    writable = [str(workdir), "/dev", *(["/tmp"] if spec["limits"].get("own_uid") else [])]
    try:
        landlock.restrict(writable)
    except OSError as exc:  # the kernel offers it but refuses: run nothing rather than less
        _end(channel, "error", f"the sandbox could not restrict itself (Landlock): {exc}")
        return EXIT_ERROR
    sys.addaudithook(sandbox.hook)
    sandbox.armed = True
    try:
        module_name, function_name = spec["entry_point"].split(":")
        function = getattr(importlib.import_module(module_name), function_name)
        context = Context(workdir, progress, log)
        outputs = function(Inputs(Path(spec["inputs_dir"])), dict(spec["parameters"]), context)
        if not isinstance(outputs, Outputs):
            raise AppError(f"the app returned {type(outputs).__name__}, not tweeling.sdk.Outputs")
        sandbox.armed = False
        _write_all(outputs_fd, orjson.dumps(outputs.as_json()))
        os.close(outputs_fd)
        _end(channel, "ok")
        return EXIT_OK
    except MemoryError:
        sandbox.armed = False
        _end(channel, "memory", "the app ran out of its memory limit")
        return EXIT_MEMORY
    except AppError as exc:
        sandbox.armed = False
        _end(channel, "app-error", str(exc))
        return EXIT_APP_ERROR
    except ModuleNotFoundError as exc:
        sandbox.armed = False
        traceback.print_exc()
        _end(channel, "error", _undeclared(exc, app_dir, bool(spec.get("env_dir"))))
        return EXIT_ERROR
    except BaseException as exc:  # the app's defect, reported with its traceback in the log
        sandbox.armed = False
        traceback.print_exc()
        _end(channel, "error", f"{type(exc).__name__}: {exc}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
