"""Goes after the platform's processes, each route at its own bystander (a process of the
platform's user that the test started and watches): SIGKILL, SIGSTOP, ptrace (attach, then
overwrite its canary with PTRACE_POKEDATA), a write to /proc/PID/mem, process_vm_writev;
and a SIGURG to its parent and the platform's own processes (which count what they get)."""

from __future__ import annotations

import ctypes
import json
import os
import signal
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

PTRACE_POKEDATA, PTRACE_ATTACH, PTRACE_DETACH = 5, 16, 17
WALL = 0x40000000
OVERWRITE = b"OWNED!!!"


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def _ptrace(pid: int, address: int) -> str:
    tricks.check(tricks.LIBC.ptrace(PTRACE_ATTACH, pid, None, None), "PTRACE_ATTACH")
    os.waitpid(pid, WALL)
    word = ctypes.c_void_p(int.from_bytes(OVERWRITE, "little"))
    tricks.check(tricks.LIBC.ptrace(PTRACE_POKEDATA, pid, address, word), "PTRACE_POKEDATA")
    tricks.LIBC.ptrace(PTRACE_DETACH, pid, None, None)
    return "canary overwritten through ptrace"


def _proc_mem(pid: int, address: int) -> str:
    fd = tricks.check(tricks.LIBC.open(f"/proc/{pid}/mem".encode(), os.O_RDWR, 0), "open mem")
    try:
        tricks.check(tricks.LIBC.pwrite(fd, OVERWRITE, len(OVERWRITE), address), "pwrite")
    finally:
        tricks.LIBC.close(fd)
    return "canary overwritten through /proc/PID/mem"


def _vm_writev(pid: int, address: int) -> str:
    local_buffer = ctypes.create_string_buffer(OVERWRITE)
    local = _Iovec(ctypes.cast(local_buffer, ctypes.c_void_p), len(OVERWRITE))
    remote = _Iovec(ctypes.c_void_p(address), len(OVERWRITE))
    tricks.check(
        tricks.LIBC.syscall(
            ctypes.c_long(tricks.SYS_PROCESS_VM_WRITEV),
            ctypes.c_long(pid),
            ctypes.byref(local),
            ctypes.c_long(1),
            ctypes.byref(remote),
            ctypes.c_long(1),
            ctypes.c_long(0),
        ),
        "process_vm_writev",
    )
    return "canary overwritten through process_vm_writev"


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    bystanders = plan["bystanders"]
    journal = tricks.Journal()
    journal.attempt("kill", lambda: os.kill(bystanders["kill"]["pid"], signal.SIGKILL))
    journal.attempt("stop", lambda: os.kill(bystanders["stop"]["pid"], signal.SIGSTOP))
    for route, action in (("ptrace", _ptrace), ("proc-mem", _proc_mem), ("vm-writev", _vm_writev)):
        target = bystanders[route]
        journal.attempt(route, lambda a=action, t=target: a(t["pid"], t["address"]))
    for pid in {os.getppid(), *plan["pids"]}:
        journal.attempt(f"signal {pid}", lambda p=pid: os.kill(p, signal.SIGURG))
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
