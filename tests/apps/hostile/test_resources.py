"""Hostile apps against the resource limits: memory by several allocators and by children,
CPU loops in threads and children, and raising its own limits. Judged from /proc while the
run goes on (memory of all its processes together, their limits) and after (nothing left)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from tweeling.apps.worker import BASELINE_MB

from .conftest import Target
from .observe import MachineWatch, Watch, survivors

DECLARED_MB = 64  # the hostile memory app's manifest
DISK_MB = 64  # its work dir's quota (also in its manifest); /tmp in the sandbox has 16 MB
MEMORY_ROUTES = (
    "bytearray",
    "numpy",
    "mmap",
    "malloc",
    "children",
    "work-fill",
    "dev-shm",
    "memfd",
    "sysv-shm",
)


@pytest.mark.parametrize("route", MEMORY_ROUTES)
def test_memory_stays_within_the_declared_limit(target: Target, route: str) -> None:
    marker = uuid.uuid4().hex[:10]
    folders = (target.platform.home, Path(tempfile.gettempdir()))
    with Watch(f"m{marker}") as seen, MachineWatch(folders) as machine:
        attack = target.attack("memory", route, marker=marker)
    allowed = (DECLARED_MB + BASELINE_MB) * 1.1
    # The watch proves itself by seeing the run's processes — unless the kernel refused the
    # memory at once (RLIMIT_DATA, or the OOM killer of the run's memory cgroup) and the run
    # ended before the first sample: then the run's cgroup peak, read by the platform from
    # the kernel and not from the app, stands in.
    stopped = attack.record.status == "memory-limit"
    assert seen.pids or stopped, "the run's processes were never seen"
    assert attack.record.measured.get("run_memory_mb", 0) <= allowed, attack.record.measured
    assert seen.peak_pss_mb <= allowed, (
        f"its processes held {seen.peak_pss_mb:.0f} MB together, over {allowed:.0f} MB "
        f"({attack.record.status}: {attack.record.message})"
    )
    assert not survivors(marker)
    # files (in a tmpfs work dir or /tmp, or on a disk) and shared memory (memfd, System V)
    # may count nowhere above; the machine's shared memory and disks show them (plus whatever
    # else the machine does meanwhile: 100 MB of slack). The run's memory cgroup counts
    # shared memory and its tmpfs within the declared memory, so shared memory may grow up to
    # that, never beyond; the disk only by the work quota.
    assert machine.shmem_growth_mb <= allowed + 100, (
        f"shared memory rose by {machine.shmem_growth_mb:.0f} MB ({attack.record.status})"
    )
    assert machine.disk_growth_mb <= DISK_MB + 16 + 100, (
        f"disk use rose by {machine.disk_growth_mb:.0f} MB ({attack.record.status})"
    )
    if route == "bytearray":
        assert attack.record.status == "memory-limit", attack.record.message


CPU_ROUTES = ("loop", "thread", "children")


@pytest.mark.parametrize("route", CPU_ROUTES)
def test_a_cpu_loop_is_stopped(target: Target, route: str) -> None:
    marker = uuid.uuid4().hex[:10]
    attack = target.attack("cpu", route, marker=marker)
    assert attack.record.status in ("cpu-limit", "timeout"), attack.record.message
    left = survivors(marker)
    assert not left, f"still spinning after the run ended: {left}"


CPU_LIMIT_S = 2  # the hostile cpu app's manifest: 2 s on one core


def test_an_app_cannot_raise_its_limits(target: Target) -> None:
    marker = uuid.uuid4().hex[:10]
    with Watch(f"c{marker}") as seen:
        attack = target.attack("cpu", "rlimit-up", marker=marker)
    journal = (attack.record.outputs.get("indicators") or {}).get("loot", attack.record.message)
    assert seen.pids, "the run's process was never seen"
    limits = seen.limits
    unlimited = sorted(row for row, value in limits.items() if value == -1)
    wanted = ("Max cpu time", "Max data size", "Max processes", "Max open files", "Max file size")
    assert not [row for row in wanted if row in unlimited], f"unlimited: {unlimited}\n{journal}"
    assert 0 < limits["Max cpu time"] <= CPU_LIMIT_S + 5, f"{limits}\n{journal}"
    assert 0 < limits["Max data size"] <= (DECLARED_MB + BASELINE_MB) << 20, f"{limits}"
    assert 0 < limits["Max open files"] <= 1024, f"{limits}"
