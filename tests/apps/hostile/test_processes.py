"""Hostile apps against processes: children that leave the run's session and outlive it, the
plain subprocess, a bounded fork bomb, and attacks on the platform's own processes (kill,
stop, ptrace, /proc/PID/mem, process_vm_writev, a signal). Judged from /proc and psutil, and
by bystander processes of the platform's user that note what was done to them."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

from .conftest import Target
from .observe import Bystander, Watch, signals_counted, survivors


def test_no_process_outlives_its_run(target: Target) -> None:
    attack = target.attack("spawn", "outlive")
    left = survivors(attack.marker)
    assert not left, f"still running after the run ended: {left}"


def test_a_plain_subprocess_is_refused(target: Target) -> None:
    attack = target.attack("spawn", "subprocess")
    left = survivors(attack.marker)
    assert not left, f"still running after the run ended: {left}"
    assert attack.record.status == "sandbox-violation", attack.record.message


def test_a_fork_bomb_meets_the_process_limit(target: Target) -> None:
    marker = uuid.uuid4().hex[:10]
    with Watch(f"b{marker}") as seen:  # the bomb's children name themselves b<marker>
        attack = target.attack("spawn", "fork-bomb", marker=marker)
    left = survivors(marker)
    # it tries 400 children; the process limit must stop it long before
    assert seen.peak_count < 200, (
        f"{seen.peak_count} of its processes at once ({attack.record.status})"
    )
    assert not left, f"still running after the run ended: {left}"
    assert subprocess.run(["true"], check=False).returncode == 0  # the machine still forks


PROCESS_ROUTES = ("kill", "stop", "ptrace", "proc-mem", "vm-writev")


def test_the_platforms_processes_are_out_of_reach(target: Target, tmp_path: Path) -> None:
    bystanders = {route: Bystander(tmp_path / f"{route}.log") for route in PROCESS_ROUTES}
    try:
        with signals_counted(signal.SIGURG) as signalled:
            attack = target.attack(
                "parent",
                "all",
                bystanders={r: {"pid": b.pid, "address": b.address} for r, b in bystanders.items()},
            )
        harm = {route: b.harm() for route, b in bystanders.items()}
    finally:
        for bystander in bystanders.values():
            bystander.close()
    harmed = {route: what for route, what in harm.items() if what}
    assert not harmed, f"bystanders harmed: {harmed} (run {attack.record.status})"
    assert not signalled, "the app signalled the platform's process"
