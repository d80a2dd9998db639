"""The process an app runs in: ``python -I -B -m tweeling.apps.worker RUN_DIR``.

Started by :mod:`tweeling.apps.sandbox` inside its own user and network namespace. Before any
app code is imported it lowers its own limits (memory, CPU time, open files; inside the user
namespace they cannot be raised again), opens the only files the runtime writes (result,
progress, sandbox events), and installs an audit hook that refuses — and records — opening
sockets, starting processes and writing anywhere but the run's work directory. Then it
imports the app from its folder and calls its entry point. The hook is a second line behind
the namespaces: Python code that steps around it (ctypes) still meets an empty network
namespace and the limits.
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

from tweeling.apps.sandbox import high_water_kb

# The runtime's own memory (interpreter, numpy, pyarrow) on top of what the app declares.
BASELINE_MB = 256
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


class _Sandbox:
    def __init__(self, workdir: Path, events_fd: int) -> None:
        self.workdir = str(workdir.resolve())
        self.events_fd = events_fd
        self.armed = False

    def _record(self, kind: str, detail: str) -> None:
        line = orjson.dumps({"kind": kind, "detail": detail[:500], "at": time.time()})
        os.write(self.events_fd, line + b"\n")

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
                self._refuse("write-outside-workdir", f"{event}({path!r})")
        elif event.startswith(_SPAWN_EVENTS):
            self._refuse("spawn-process", f"{event}{_short(args)}")
        elif event == "socket.bind" and _loopback(args):
            return  # probing for IPv6 (urllib3 does at import) reaches no one
        elif event in _NETWORK_EVENTS:
            self._refuse("network", f"{event}{_short(args)}")

    def _refuse(self, kind: str, detail: str) -> None:
        self.armed = False  # recording must not trip the hook itself
        try:
            self._record(kind, detail)
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
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)


def _open_for_runtime(run_dir: Path, name: str) -> int:
    return os.open(run_dir / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def _write(fd: int, doc: dict[str, Any]) -> None:
    doc["peak_rss_mb"] = round(high_water_kb() / 1024, 1)
    data = memoryview(orjson.dumps(doc))
    while data:
        data = data[os.write(fd, data) :]


def main(run_dir: Path) -> int:
    spec = orjson.loads((run_dir / "spec.json").read_bytes())
    _apply_limits(spec["limits"])
    workdir = Path(spec["workdir"])
    result_fd = _open_for_runtime(run_dir, "result.json")
    progress_fd = _open_for_runtime(run_dir, "progress.jsonl")
    events_fd = _open_for_runtime(run_dir, "events.jsonl")
    sandbox = _Sandbox(workdir, events_fd)

    from tweeling.sdk import AppError, Context, Inputs, Outputs

    def progress(fraction: float, message: str) -> None:
        os.write(progress_fd, orjson.dumps({"fraction": fraction, "message": message}) + b"\n")

    def log(line: str) -> None:
        print(line, flush=True)

    app_dir = Path(spec["app_dir"])
    sys.path[:0] = [str(app_dir / "src"), str(app_dir)]
    os.chdir(workdir)
    # Libraries ask for the processor name at import (h5py, through pvlib), which Python
    # answers by running `uname -p`; answer it now, so that harmless question is no refused
    # process start inside the sandbox.
    platform.uname().processor  # noqa: B018
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
        _write(result_fd, {"status": "ok", "outputs": outputs.as_json()})
        return 0
    except MemoryError:
        sandbox.armed = False
        _write(result_fd, {"status": "memory", "message": "the app ran out of its memory limit"})
        return 3
    except AppError as exc:
        sandbox.armed = False
        _write(result_fd, {"status": "app-error", "message": str(exc)})
        return 2
    except BaseException as exc:  # the app's defect, reported with its traceback in the log
        sandbox.armed = False
        traceback.print_exc()
        _write(
            result_fd,
            {"status": "error", "message": f"{type(exc).__name__}: {exc}"[:2000]},
        )
        return 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
