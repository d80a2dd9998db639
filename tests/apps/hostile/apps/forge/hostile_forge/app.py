"""Forges what the platform learns about its run, then ends badly.

It writes a "successful" result with outputs of its choosing (every building scores 0.987,
the loot says FORGED-<marker>) into every channel it can find: result/event/progress files
in the run folder (by path and through its open descriptors) and the worker's own
descriptors and pipes (found in the worker's frame and among the live objects). Then it
ends by the route's way: an exception, exit status 1, SIGKILL, or — after a refused breach
whose report it tries to erase — exit status 0.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import stat
from pathlib import Path
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

SCORE = 0.987


def _forged(inputs: Inputs, marker: str) -> dict[str, Any]:
    ids = inputs.layer("buildings").ids
    return {
        "attributes": {"score": dict.fromkeys(ids, SCORE)},
        "indicators": {"loot": f"FORGED-{marker}"},
        "layers": {},
    }


def _runtime_descriptors() -> dict[str, int]:
    """The worker's own descriptors, by the names it gave them."""
    found: dict[str, int] = {}
    names = ("result_fd", "progress_fd", "events_fd", "outputs_fd")
    for frame in tricks.frames_with("spec"):
        found.update({n: frame[n] for n in names if isinstance(frame.get(n), int)})
        spec = frame.get("spec")
        if isinstance(spec, dict):
            found.update({n: spec[n] for n in names if isinstance(spec.get(n), int)})
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "outputs_fd" in obj and isinstance(obj["outputs_fd"], int):
            found.setdefault("outputs_fd", obj["outputs_fd"])
            if isinstance(obj.get("events_fd"), int):
                found.setdefault("events_fd", obj["events_fd"])
    return found


def _put(fd: int, data: bytes) -> str:
    """Replace a file's content, or send down a pipe."""
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        return f"fd {fd}: file rewritten"
    os.write(fd, data)
    return f"fd {fd}: sent"


def _forge(inputs: Inputs, marker: str, journal: tricks.Journal) -> None:
    outputs = _forged(inputs, marker)
    result = json.dumps({"status": "ok", "outputs": outputs}).encode()
    end = json.dumps({"kind": "end", "status": "ok", "message": "", "peak_rss_mb": 1}).encode()
    progress = json.dumps({"fraction": 1.0, "message": "done"}).encode() + b"\n"
    run_dir = Path(inputs.folder).resolve().parent
    for name, data in (
        ("result.json", result),
        ("events.jsonl", b""),
        ("progress.jsonl", progress),
    ):
        journal.attempt(f"file {name}", lambda n=name, d=data: (run_dir / n).write_bytes(d))
        journal.attempt(
            f"libc {name}", lambda n=name, d=data: tricks.libc_write(str(run_dir / n), d)
        )
    for fd_name in os.listdir("/proc/self/fd"):
        fd = int(fd_name)
        with contextlib.suppress(OSError):
            where = os.readlink(f"/proc/self/fd/{fd}")
            if where.endswith("result.json"):
                journal.attempt(f"open {where}", lambda fd=fd: _put(fd, result))
            elif where.endswith("events.jsonl"):
                journal.attempt(f"open {where}", lambda fd=fd: _put(fd, b""))
    descriptors = _runtime_descriptors()
    journal.lines.append(f"worker descriptors: {descriptors}")
    if "result_fd" in descriptors:
        journal.attempt("result_fd", lambda: _put(descriptors["result_fd"], result))
    if "events_fd" in descriptors:  # a file is emptied; down a pipe goes a happy ending
        events = descriptors["events_fd"]
        erase = stat.S_ISREG(os.fstat(events).st_mode)
        journal.attempt("events_fd", lambda: _put(events, b"" if erase else end + b"\n"))
    if "outputs_fd" in descriptors:
        journal.attempt(
            "outputs_fd", lambda: _put(descriptors["outputs_fd"], json.dumps(outputs).encode())
        )
        with contextlib.suppress(OSError):
            os.close(descriptors["outputs_fd"])


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    route = parameters["route"]
    journal = tricks.Journal()
    if route == "hide-violation":

        def breach() -> None:
            with socket.create_connection(("192.0.2.1", 80), timeout=1):
                pass

        journal.attempt("breach", breach)
    _forge(inputs, plan["marker"], journal)
    print(journal.text(), flush=True)
    if route == "crash":
        raise RuntimeError("the forged result is all there is")
    if route == "exit-1":
        os._exit(1)
    if route == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if route == "hide-violation":
        os._exit(0)
    raise ValueError(f"no route {route!r}")
