"""Starts processes that should not exist, or not outlive the run.

"outlive": children that leave the run's session and process group and linger for 20 s —
a double fork with setsid from libc (no audit event), os.fork with the hook switched off,
and a shell started by libc's system() in the background. "subprocess": the plain way
(the hook refuses it). "fork-bomb": fork from libc as fast as it can, bounded by 400
children and 4 s, each lingering until 6 s after the start. Every child names itself
(comm) after the run's marker, so the test finds survivors from outside.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

LINGER_S = 20.0
BOMB_CHILDREN, BOMB_SECONDS, BOMB_LINGER_S = 400, 4.0, 6.0


def _double_fork(name: str, fork: Any, setsid: Any) -> str:
    child = fork()
    if child == 0:
        try:
            setsid()
            if fork() == 0:
                tricks.linger(name, LINGER_S)
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    return f"grandchild {name} left behind"


def _outlive(marker: str, journal: tricks.Journal) -> None:
    journal.attempt(
        "libc-double-fork",
        lambda: _double_fork(f"s{marker}1", tricks.fork, tricks.LIBC.setsid),
    )

    def disarmed_fork() -> str:
        with tricks.disarmed("gc"):
            return _double_fork(f"s{marker}2", os.fork, os.setsid)

    journal.attempt("disarmed-fork", disarmed_fork)
    shell = f"setsid sh -c 'sleep {LINGER_S:.0f}; : hostile-{marker}-system' >/dev/null 2>&1 &"
    journal.attempt("system", lambda: tricks.LIBC.system(shell.encode()))


def _bomb(marker: str, journal: tricks.Journal) -> None:
    start = time.monotonic()
    children, refusals = 0, 0
    while children < BOMB_CHILDREN and time.monotonic() - start < BOMB_SECONDS:
        try:
            if tricks.fork() == 0:
                tricks.linger(f"b{marker}", BOMB_LINGER_S - (time.monotonic() - start))
            children += 1
        except OSError:
            refusals += 1
            time.sleep(0.005)
    while time.monotonic() - start < BOMB_LINGER_S + 0.5:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)
        except ChildProcessError:
            break
    journal.lines.append(f"fork bomb: {children} children, {refusals} refusals")


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    marker, route = plan["marker"], parameters["route"]
    journal = tricks.Journal()
    if route == "outlive":
        _outlive(marker, journal)
    elif route == "subprocess":
        script = f"sleep {LINGER_S:.0f}; : hostile-{marker}-subprocess"
        journal.attempt(
            "subprocess",
            lambda: subprocess.Popen(["sh", "-c", script], start_new_session=True).pid,
        )
    elif route == "fork-bomb":
        _bomb(marker, journal)
    else:
        raise ValueError(f"no route {route!r}")
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
