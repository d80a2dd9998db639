"""Spins past its CPU limit (2 s), by one route per run: a plain loop, a loop in a thread,
two forked children spinning (each has its own CPU limit; together they need the run's wall
clock to stop them), or first raising its own limits (setrlimit and prlimit64 from libc)
and then lingering so the test can read its limits from /proc. Processes name themselves
after the marker; children give up by themselves after 20 s, so nothing spins for ever."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import threading
import time
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

GIVE_UP_S = 20.0


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


class _Rlimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]


def _raise_limits(journal: tricks.Journal) -> None:
    unlimited = resource.RLIM_INFINITY
    kinds = {
        "cpu": resource.RLIMIT_CPU,
        "data": resource.RLIMIT_DATA,
        "nproc": resource.RLIMIT_NPROC,
        "nofile": resource.RLIMIT_NOFILE,
        "fsize": resource.RLIMIT_FSIZE,
    }
    for name, kind in kinds.items():
        journal.attempt(
            f"setrlimit {name}", lambda k=kind: resource.setrlimit(k, (unlimited, unlimited))
        )
        wanted = _Rlimit(2**64 - 1, 2**64 - 1)
        journal.attempt(
            f"prlimit64 {name}",
            lambda k=kind, w=wanted: tricks.check(
                tricks.LIBC.syscall(
                    ctypes.c_long(tricks.SYS_PRLIMIT64),
                    ctypes.c_long(0),
                    ctypes.c_long(k),
                    ctypes.byref(w),
                    ctypes.c_void_p(None),
                ),
                "prlimit64",
            ),
        )


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    marker, route = plan["marker"], parameters["route"]
    tricks.name_process(f"c{marker}")
    journal = tricks.Journal()
    if route == "loop":
        _spin(GIVE_UP_S)
    elif route == "thread":
        spinner = threading.Thread(target=_spin, args=(GIVE_UP_S,), daemon=True)
        spinner.start()
        spinner.join()
    elif route == "children":
        for _ in range(2):
            if tricks.fork() == 0:
                _spin(GIVE_UP_S)
                os._exit(0)
        _spin(GIVE_UP_S)
    elif route == "rlimit-up":
        _raise_limits(journal)
        time.sleep(1.5)  # the test reads /proc/PID/limits meanwhile
    else:
        raise ValueError(f"no route {route!r}")
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
