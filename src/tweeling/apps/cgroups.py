"""One memory cgroup per run: a limit on everything the run's processes hold together.

Per-process limits (``RLIMIT_DATA``) do not count shared mappings, memfd or System V shared
memory, nor add up across a run's processes; a hostile app used them to hold gigabytes while
declaring 64 MB. A memory cgroup counts all of it — and the run's tmpfs work directory — and
the kernel's OOM killer ends the run at its limit. The cgroup also gives the run's true peak.

The cgroup is made beneath the platform's own (so it nests within whatever limit the operator
gave the service), on cgroup v2 where the platform's cgroup may have children with the
memory controller, else on cgroup v1's memory hierarchy. The sandbox is started by a shell
that moves itself into the cgroup and then becomes bubblewrap, so every process of the run
is inside from its first instruction. Where neither can be used (an unprivileged platform
without a delegated cgroup), :func:`create` returns None and runs keep the per-process
limits only, flagged ``memory-per-process``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
_GROUP = "tweeling-runs"


@dataclass(frozen=True)
class RunGroup:
    path: Path
    version: int

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def peak_mb(self) -> float:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.path / name).read_text()) / (1024 * 1024)
        except (OSError, ValueError):
            return 0.0

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the run for going past the limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def remove(self) -> None:
        """Remove the cgroup once its processes are gone (a few tries: the kernel may still
        be tearing the last of them down)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                with contextlib.suppress(OSError):
                    for pid in self.procs.read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                time.sleep(0.02)


def _own_path(controller: str | None) -> str | None:
    """This process's cgroup path in the v1 hierarchy of ``controller`` (or v2's for None)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller is None and names == "":
                return path
            if controller is not None and controller in names.split(","):
                return path
    return None


@functools.cache
def _parent() -> tuple[Path, int] | None:
    """Where run cgroups are made, and the cgroup version; None where we may not."""
    if (_ROOT / "cgroup.controllers").exists():  # a pure v2 system
        own = _own_path(None)
        if own is None:
            return None
        base = _ROOT / own.lstrip("/") / _GROUP
        try:
            base.mkdir(exist_ok=True)
            if "memory" not in (base.parent / "cgroup.subtree_control").read_text().split():
                (base.parent / "cgroup.subtree_control").write_text("+memory")
            (base / "cgroup.subtree_control").write_text("+memory")
        except OSError:
            return None
        return base, 2
    memory_root = _ROOT / "memory"
    own = _own_path("memory")
    if own is None or not (memory_root / "memory.limit_in_bytes").exists():
        return None
    base = memory_root / own.lstrip("/") / _GROUP
    try:
        base.mkdir(exist_ok=True)
    except OSError:
        return None
    return (base, 1) if os.access(base, os.W_OK) else None


def create(limit_mb: int) -> RunGroup | None:
    """A fresh cgroup for one run with its memory limit (swap included), or None."""
    parent = _parent()
    if parent is None:
        return None
    base, version = parent
    path = base / f"run-{uuid.uuid4().hex[:16]}"
    limit = str(limit_mb * 1024 * 1024)
    try:
        path.mkdir()
        if version == 2:
            (path / "memory.max").write_text(limit)
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(limit)
            with contextlib.suppress(OSError):  # only where swap accounting is on
                (path / "memory.memsw.limit_in_bytes").write_text(limit)
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    return RunGroup(path, version)


# The command prefix that enters a cgroup: the shell writes its own pid, then becomes the
# command, so nothing of the run starts outside it.
def enter(group: RunGroup) -> list[str]:
    return ["/bin/sh", "-c", 'echo $$ > "$0" || exit 125; exec "$@"', str(group.procs)]
