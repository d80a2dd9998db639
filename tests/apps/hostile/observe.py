"""Looking at a hostile run from outside the sandbox: the disk, /proc, sockets the test holds,
processes the test started. Nothing here asks the app or reads what it says about itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

# --- the disk ------------------------------------------------------------------------------


def tree_state(root: Path, skip: Iterable[str] = ()) -> dict[str, tuple[int, int, str]]:
    """Every entry under ``root``: (mode, size, SHA-256 of a file's bytes or a link's target);
    top-level names in ``skip`` (the database, the run folders) are left out."""
    skipped = set(skip)
    state: dict[str, tuple[int, int, str]] = {}
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        if here == root:
            folders[:] = [f for f in folders if f not in skipped]
            files = [f for f in files if f not in skipped]
        for name in [*folders, *files]:
            path = here / name
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                digest = os.readlink(path)
            else:
                digest = ""
            state[path.relative_to(root).as_posix()] = (info.st_mode, info.st_size, digest)
    return state


def differences(
    before: dict[str, tuple[int, int, str]], after: dict[str, tuple[int, int, str]]
) -> list[str]:
    changed = [f"new {p}" for p in sorted(after.keys() - before.keys())]
    changed += [f"gone {p}" for p in sorted(before.keys() - after.keys())]
    changed += [
        f"changed {p}: mode {before[p][0]:o}->{after[p][0]:o}, size {before[p][1]}->{after[p][1]}"
        for p in sorted(before.keys() & after.keys())
        if before[p] != after[p]
    ]
    return changed


def entries_named(folders: Iterable[Path], fragment: str) -> list[Path]:
    """Entries of the folders (not recursive) whose names contain ``fragment``."""
    found = []
    for folder in folders:
        with contextlib.suppress(OSError):
            found += [folder / n for n in os.listdir(folder) if fragment in n]
    return found


# --- processes -----------------------------------------------------------------------------


def processes_marked(marker: str) -> list[psutil.Process]:
    """Live processes (not zombies) whose name, command line or environment carries the marker."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if (
                marker in process.name()
                or any(marker in a for a in process.cmdline())
                or any(marker in v for v in process.environ().values())
            ):
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def survivors(marker: str, grace_s: float = 5.0) -> list[str]:
    """Processes of a finished run still alive after ``grace_s`` (a dying process may take a
    moment to go; the hostile apps' children linger for 20 s); they are killed afterwards."""
    deadline = time.monotonic() + grace_s
    left = processes_marked(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = processes_marked(marker)
    described = []
    for process in left:
        with contextlib.suppress(psutil.Error):
            described.append(f"pid {process.pid} {process.name()!r} uid {process.uids().real}")
            process.kill()
    return described


@dataclass
class Seen:
    """What a :class:`Watch` saw of the processes whose comm starts with its prefix."""

    peak_count: int = 0
    peak_pss_mb: float = 0.0
    pids: set[int] = field(default_factory=set)
    # the highest soft limit seen per /proc/PID/limits row ("Max cpu time", ...); -1 unlimited
    limits: dict[str, int] = field(default_factory=dict)


def _limits(pid: str) -> dict[str, int]:
    rows = {}
    with open(f"/proc/{pid}/limits") as handle:
        for line in handle.readlines()[1:]:
            match = re.match(r"(Max [a-z ]+?)\s{2,}(\S+)", line)
            if match:
                soft = match.group(2)
                rows[match.group(1)] = -1 if soft == "unlimited" else int(soft)
    return rows


def _pss_mb(pid: str) -> float:
    """A process's proportional share of resident memory: pages it shares with its parent
    or siblings count once among them, so the run's processes can be added up."""
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Watch:
    """Samples /proc every 50 ms while a run goes on: how many of the run's processes there
    are at once, their summed memory (PSS), their limits."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen = Seen()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Seen:
        self._thread.start()
        return self.seen

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            count, pss = 0, 0.0
            for pid in (p for p in os.listdir("/proc") if p.isdigit()):
                try:
                    with open(f"/proc/{pid}/comm") as handle:
                        if not handle.read().startswith(self.prefix):
                            continue
                    pss += _pss_mb(pid)
                    for row, value in _limits(pid).items():
                        known = self.seen.limits.get(row, 0)
                        if value == -1 or known == -1:
                            self.seen.limits[row] = -1
                        else:
                            self.seen.limits[row] = max(known, value)
                except (OSError, ValueError, IndexError):
                    continue
                count += 1
                self.seen.pids.add(int(pid))
            self.seen.peak_count = max(self.seen.peak_count, count)
            self.seen.peak_pss_mb = max(self.seen.peak_pss_mb, pss)
            self._stop.wait(0.05)


class MemoryWatch:
    """Samples the resident memory of some processes (the platform's) every 20 ms: how far
    each rose above where it started. A peak-RSS figure alone can hide a rise that stays
    below an earlier peak; this cannot."""

    def __init__(self, pids: Iterable[int]) -> None:
        self.start = {pid: _rss_mb(pid) for pid in pids}
        self.growth_mb = dict.fromkeys(self.start, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> dict[int, float]:
        self._thread.start()
        return self.growth_mb

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid, start in self.start.items():
                with contextlib.suppress(OSError):
                    self.growth_mb[pid] = max(self.growth_mb[pid], _rss_mb(pid) - start)
            self._stop.wait(0.02)


class MachineWatch:
    """Samples the machine's shared memory (Shmem in /proc/meminfo: tmpfs files and shared
    mappings) and the space used on the file systems of ``folders`` every 50 ms: the highest
    rise of each over the start."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self.folders = list(folders)
        self.start = self._now()
        self.shmem_growth_mb = 0.0
        self.disk_growth_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _now(self) -> tuple[float, float]:
        shmem = 0.0
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("Shmem:"):
                    shmem = int(line.split()[1]) / 1024
        used = 0.0
        for device in {os.stat(f).st_dev: f for f in self.folders}.values():
            info = os.statvfs(device)
            used += (info.f_blocks - info.f_bfree) * info.f_frsize / (1 << 20)
        return shmem, used

    def __enter__(self) -> MachineWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            shmem, used = self._now()
            self.shmem_growth_mb = max(self.shmem_growth_mb, shmem - self.start[0])
            self.disk_growth_mb = max(self.disk_growth_mb, used - self.start[1])
            self._stop.wait(0.05)


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def high_water_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), read from /proc."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- sockets the test holds -----------------------------------------------------------------


class Listeners:
    """One listening socket per route: TCP and UDP on loopback, Unix (abstract and by path).
    After a run, :meth:`reached` names the routes whose socket got a connection or datagram."""

    def __init__(self, folder: Path, marker: str, tcp: Iterable[str], udp: Iterable[str]) -> None:
        self.sockets: dict[str, socket.socket] = {}
        for route in tcp:
            self.sockets[route] = self._listen(socket.AF_INET, ("127.0.0.1", 0))
        for route in udp:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            self.sockets[route] = sock
        self.abstract = f"tweeling-hostile-{marker}"
        self.path = str(folder / f"hostile-{marker}.sock")
        self.sockets["unix-abstract"] = self._listen(socket.AF_UNIX, "\0" + self.abstract)
        self.sockets["unix-path"] = self._listen(socket.AF_UNIX, self.path)

    @staticmethod
    def _listen(family: int, address: str | tuple[str, int]) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind(address)
        sock.listen(16)
        return sock

    def ports(self, kind: int) -> dict[str, int]:
        return {
            route: sock.getsockname()[1]
            for route, sock in self.sockets.items()
            if sock.family == socket.AF_INET and sock.type == kind
        }

    def reached(self) -> dict[str, bytes]:
        reached = {}
        for route, sock in self.sockets.items():
            sock.setblocking(False)
            try:
                if sock.type == socket.SOCK_DGRAM:
                    reached[route] = sock.recv(512)
                else:
                    conn, _ = sock.accept()
                    conn.settimeout(1)
                    with conn, contextlib.suppress(OSError):
                        reached[route] = conn.recv(512)
                    reached.setdefault(route, b"")
            except BlockingIOError:
                continue
        return reached

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


# --- bystanders: processes of the platform's user that an app must not touch -------------

_BYSTANDER = r"""
import ctypes, os, signal, sys, time
canary = ctypes.create_string_buffer(b"BYSTANDER-CANARY-%d" % os.getpid(), 64)
expected = canary.raw
report = open(sys.argv[1], "a", buffering=1)
signal.signal(signal.SIGURG, lambda *a: report.write("got SIGURG\n"))
print(os.getpid(), ctypes.addressof(canary), flush=True)
end = time.monotonic() + 120
while time.monotonic() < end:
    if canary.raw != expected:
        report.write("canary overwritten: %r\n" % canary.raw[:24])
        expected = canary.raw
    with open("/proc/self/status") as status:
        tracer = [l for l in status if l.startswith("TracerPid:")][0].split()[1]
    if tracer != "0":
        report.write("traced by %s\n" % tracer)
    time.sleep(0.02)
"""


class Bystander:
    """A process of the platform's user holding a canary in its memory; it writes down what
    happens to it (a signal, a tracer, a changed canary) in its own report file."""

    def __init__(self, report: Path) -> None:
        self.report = report
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BYSTANDER, str(report)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        pid, address = self.process.stdout.readline().split()
        self.pid, self.address = int(pid), int(address)

    def harm(self) -> list[str]:
        """What was done to it, as seen from here and by itself."""
        harm = []
        if self.process.poll() is not None:
            harm.append(f"it died (exit status {self.process.returncode})")
        else:
            with contextlib.suppress(psutil.Error):
                state = psutil.Process(self.pid).status()
                if state in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP):
                    harm.append(f"it is {state}")
        time.sleep(0.1)  # its own check runs every 20 ms
        if self.report.exists():
            harm += [line for line in self.report.read_text().splitlines() if line]
        return harm

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextlib.contextmanager
def signals_counted(signum: int) -> Iterator[list[int]]:
    """Count ``signum`` arriving at this (the platform's) process meanwhile."""
    got: list[int] = []
    previous = signal.signal(signum, lambda number, frame: got.append(number))
    try:
        yield got
    finally:
        signal.signal(signum, previous)
