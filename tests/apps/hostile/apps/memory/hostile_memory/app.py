"""Takes far more memory than the 64 MB it declares, by one route per run: Python objects,
numpy, an anonymous mmap, libc's malloc, and six forked children of 200 MB each (each
under a per-process limit, together far over the run's). Pages are touched, so they count.
Every process names itself after the marker, so the test can add up their memory from
outside; everything is bounded (1.5 GB per process, 3 s). "work-fill" fills its work dir
and /tmp (memory-backed file systems) with 1.5 GB each, past their quotas; "dev-shm" does
the same in /dev/shm; "memfd" spreads 1.5 GB over memory-backed anonymous files, each under
the file size limit; "sysv-shm" attaches a 1.5 GB System V shared memory segment."""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import signal
import time
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

MB = 1 << 20
HOLD_S = 3.0


def _touch(address: int, size: int) -> None:
    ctypes.memset(address, 1, size)


def _fill(path: str) -> int:
    chunk, written = b"\1" * (4 * MB), 0
    with open(path, "wb") as handle:
        while written < 1536 * MB:
            written += handle.write(chunk)
            handle.flush()
    return written


_KEEP: list[int] = []


def _memfds(total: int) -> int:
    """Anonymous memory-backed files, each filled until the file size limit stops it."""
    chunk, written = b"\1" * (4 * MB), 0
    while written < total:
        fd = os.memfd_create("hostile")
        _KEEP.append(fd)
        before = written
        try:
            while written < total:
                written += os.write(fd, chunk)
        except OSError:
            if written == before:
                raise
    return written


def _hold(what: Any) -> None:
    time.sleep(HOLD_S)
    del what


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    marker, route = plan["marker"], parameters["route"]
    tricks.name_process(f"m{marker}")
    journal = tricks.Journal()
    if route == "bytearray":
        hoard = [bytearray(16 * MB) for _ in range(96)]  # 1.5 GB
        _hold(hoard)
    elif route == "numpy":
        import numpy as np

        _hold(np.ones(1536 * MB, dtype=np.uint8))
    elif route == "mmap":
        area = mmap.mmap(-1, 1536 * MB)
        area.write(b"\1" * (64 * MB))
        for offset in range(64 * MB, 1536 * MB, 4096):
            area[offset] = 1
        _hold(area)
    elif route == "malloc":
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        address = libc.malloc(ctypes.c_size_t(1536 * MB))
        if not address:
            raise MemoryError("malloc refused 1.5 GB")
        _touch(address, 1536 * MB)
        _hold(address)
    elif route == "children":
        children = []
        for _ in range(6):
            child = tricks.fork()
            if child == 0:
                libc = ctypes.CDLL(None)
                libc.malloc.restype = ctypes.c_void_p
                address = libc.malloc(ctypes.c_size_t(200 * MB))
                if address:
                    _touch(address, 200 * MB)
                    time.sleep(HOLD_S)
                os._exit(0)
            children.append(child)
        for child in children:
            os.waitpid(child, 0)
    elif route == "memfd":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
        journal.attempt("memfd", lambda: _memfds(1536 * MB))
        time.sleep(HOLD_S)
    elif route == "sysv-shm":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        segment = tricks.check(libc.shmget(0, ctypes.c_size_t(1536 * MB), 0o1600), "shmget")
        address = libc.shmat(segment, None, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "shmat")
        libc.shmctl(segment, 0, None)  # IPC_RMID: gone once detached
        _touch(address, 1536 * MB)
        time.sleep(HOLD_S)
    elif route in ("work-fill", "dev-shm"):
        folders = (os.getcwd(), "/tmp") if route == "work-fill" else ("/dev/shm",)
        for folder in folders:
            journal.attempt(folder, lambda f=folder: _fill(os.path.join(f, f"fill-{marker}")))
        time.sleep(HOLD_S)
    else:
        raise ValueError(f"no route {route!r}")
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
