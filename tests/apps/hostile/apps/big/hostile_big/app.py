"""Hands the platform far more than the per-run output cap (256 MB by default): a 300 MB
layer of 1.2 million features through the SDK, a 1 GB result, log or event stream down the worker's own channels
(pipes get real bytes; files become sparse, costing no disk), or 1 GB sparse files in the
work dir named like outputs; or a small result nested half a million levels deep. The
platform must refuse it without reading it into memory."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

GIGABYTE = 1 << 30
CHUNK = b"x" * (1 << 20)


def _flood(fd: int, head: bytes, tail: bytes = b"") -> str:
    """1 GB into ``fd``: written to a pipe, or a sparse file of that size."""
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.ftruncate(fd, 0)
        os.pwrite(fd, head, 0)
        os.ftruncate(fd, GIGABYTE)
        os.pwrite(fd, tail, GIGABYTE - len(tail))
        return f"fd {fd}: a sparse 1 GB file"
    view = memoryview(head)
    while view:
        view = view[os.write(fd, view) :]
    for _ in range(GIGABYTE // len(CHUNK)):
        view = memoryview(CHUNK)
        while view:
            view = view[os.write(fd, view) :]
    os.write(fd, tail)
    return f"fd {fd}: 1 GB sent"


def _descriptors() -> dict[str, int]:
    found: dict[str, int] = {}
    names = ("result_fd", "events_fd", "outputs_fd")
    for frame in tricks.frames_with("spec"):
        found.update({n: frame[n] for n in names if isinstance(frame.get(n), int)})
        spec = frame.get("spec")
        if isinstance(spec, dict):
            found.update({n: spec[n] for n in names if isinstance(spec.get(n), int)})
    return found


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    route = parameters["route"]
    journal = tricks.Journal()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file size limit answers EFBIG instead
    out = Outputs()
    out.layer("flood", {"type": "FeatureCollection", "features": []})
    if route == "sdk":
        feature = {"type": "Feature", "geometry": None, "properties": {"v": "y" * 200}}
        out.layer("flood", {"type": "FeatureCollection", "features": [feature] * 1_200_000})
        out.indicator("loot", "a 300 MB layer")
        return out
    found = _descriptors()
    journal.lines.append(f"worker descriptors: {found}")
    if route == "outputs-fd":
        head = b'{"status": "ok", "outputs": {"indicators": {"loot": "'
        tail = b'"}, "attributes": {}, "layers": {}}}'
        if "outputs_fd" in found:
            head = b'{"indicators": {"loot": "'
            tail = b'"}, "attributes": {}, "layers": {}}'
        fd = found.get("outputs_fd", found.get("result_fd"))
        if fd is None:
            raise LookupError(f"no result channel among {found}")
        journal.attempt("outputs", lambda: _flood(fd, head, tail))
        with contextlib.suppress(OSError):
            os.close(fd)
        end = json.dumps({"kind": "end", "status": "ok", "message": "", "peak_rss_mb": 1})
        if "events_fd" in found:
            journal.attempt("end", lambda: os.write(found["events_fd"], end.encode() + b"\n"))
        os._exit(0)
    elif route == "deep-json":  # small, but nested past any parser's recursion limit
        fd = found.get("outputs_fd", found.get("result_fd"))
        if fd is None:
            raise LookupError(f"no result channel among {found}")
        journal.attempt("outputs", lambda: os.write(fd, b"[" * 500_000 + b"]" * 500_000))
        with contextlib.suppress(OSError):
            os.close(fd)
        end = json.dumps({"kind": "end", "status": "ok", "message": "", "peak_rss_mb": 1})
        if "events_fd" in found:
            journal.attempt("end", lambda: os.write(found["events_fd"], end.encode() + b"\n"))
        os._exit(0)
    elif route == "log":
        journal.attempt("stdout", lambda: _flood(1, b"log: ", b"\n"))
    elif route == "events":
        if "events_fd" not in found:
            raise LookupError(f"no event channel among {found}")
        journal.attempt(
            "events", lambda: _flood(found["events_fd"], b'{"kind": "progress", "message": "')
        )
    elif route == "work-sparse":
        for name in ("result.json", "outputs.json", "outputs.jsonl", "events.jsonl", "log.txt"):

            def sparse(name: str = name) -> str:
                with open(name, "wb") as handle:
                    handle.truncate(GIGABYTE)
                return f"{name}: a sparse 1 GB file"

            journal.attempt(name, sparse)
    else:
        raise ValueError(f"no route {route!r}")
    out.indicator("loot", journal.text())
    return out
