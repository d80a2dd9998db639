"""Each sandbox limit enforced, shown by the misbehaving fixture app: the run ends with its own
clear status and the platform carries on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweeling.apps import isolation, packages
from tweeling.apps.runs import Runtime
from tweeling.services import apps as service

from .conftest import MISBEHAVING, OPERATOR, WELLBEHAVED


def _run(runtime: Runtime, behaviour: str):  # type: ignore[no-untyped-def]
    return service.run(
        runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(MISBEHAVING),
        overrides={"behaviour": behaviour},
        purpose="tests",
    )


CASES = [
    ("socket", "sandbox-violation", "network"),
    ("loopback", "sandbox-violation", "network"),
    ("write", "sandbox-violation", "write-outside-workdir"),
    ("spawn", "sandbox-violation", "spawn-process"),
    ("memory", "memory-limit", "64 MB"),
    ("loop", "cpu-limit", "CPU-time limit"),
    ("sleep", "timeout", "wall-clock limit"),
    ("crash", "crashed", "RuntimeError: this app has a bug"),
    ("app-error", "failed", "lacks what this app needs"),
    ("out-of-range", "invalid-output", "outside the declared range"),
    ("wrong-type", "invalid-output", "not of the declared type number"),
    ("unknown-object", "invalid-output", "'no-such-building' is not among"),
    ("undeclared-output", "invalid-output", "does not declare"),
]


@pytest.mark.parametrize(("behaviour", "status", "says"), CASES, ids=[c[0] for c in CASES])
def test_each_breach_ends_the_run_with_its_status(
    runtime: Runtime, behaviour: str, status: str, says: str
) -> None:
    record = _run(runtime, behaviour)
    assert record.status == status, record.message
    assert says in (record.message or "")
    assert record.stored_seq is None  # nothing of a failed run reaches the twin
    assert record.prov is not None  # a failed run is on record too
    assert not (runtime.runs_dir / record.run_id).exists()


def test_the_platform_carries_on_after_breaches(runtime: Runtime, tmp_path: Path) -> None:
    assert _run(runtime, "loop").status == "cpu-limit"
    record = _run(runtime, "none")
    assert record.status == "successful"
    assert len(record.outputs["attributes"]["score"]) == 160
    # the worker's own peak memory, within what its limit allows (64 MB + 256 MB runtime)
    assert 30 < record.measured["peak_rss_mb"] < 320
    assert not (runtime.runs_dir / "escaped.txt").exists()


def test_harmless_probes_of_common_libraries_are_no_breach(runtime: Runtime) -> None:
    record = service.run(
        runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(WELLBEHAVED),
        purpose="tests",
    )
    assert record.status == "successful", record.message
    assert not record.flags
    assert record.outputs["indicators"]["half"] == 0.5
    assert record.outputs["indicators"]["cached_files"] >= 2  # numba's index and its code


def test_runs_get_their_own_network_namespace(runtime: Runtime) -> None:
    record = _run(runtime, "none")
    assert record.status == "successful"
    assert record.outputs["indicators"]["interfaces"] == 0  # only loopback in there
    assert "unsandboxed" not in record.flags


def test_without_bubblewrap_no_run_starts(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: where the sandbox cannot be set up, the app is never started."""
    monkeypatch.setenv("PATH", "/nonexistent")
    isolation._probe.cache_clear()
    try:
        record = _run(runtime, "nondeterministic")
    finally:
        monkeypatch.undo()
        isolation._probe.cache_clear()
    assert record.status == "sandbox-unavailable"
    assert "bubblewrap is not installed" in (record.message or "")
    assert record.outputs == {}
    assert record.measured == {} or "wall_s" not in record.measured


def test_a_developer_may_run_unsandboxed_with_the_hook_and_a_flag(
    runtime: Runtime,
) -> None:
    loose = Runtime(runtime.db, runtime.executor, runtime.home, isolation="none")
    breach = _run(loose, "socket")
    assert breach.status == "sandbox-violation"
    assert "unsandboxed" in breach.flags
    fine = _run(loose, "nondeterministic")  # a behaviour no other test here runs: not cached
    assert fine.status == "successful"
    assert "unsandboxed" in fine.flags
    with open("/proc/net/dev") as handle:  # without its own namespace it sees the host's
        host = [line.split(":")[0].strip() for line in handle.readlines()[2:]]
    assert fine.outputs["indicators"]["interfaces"] == sum(1 for n in host if n != "lo")
