"""Hostile apps against what the platform records: a forged "successful" result (written into
every channel the app can find, then the app crashes, exits 1, is killed, or erases the
report of a refused breach), and results far over the per-run output cap. Judged from the
run's row, the twin's stored values, and this process's (and the Dask worker's) peak memory."""

from __future__ import annotations

import re
import resource

import pytest
from sqlalchemy import text

from .conftest import Platform, Target
from .observe import MemoryWatch, high_water_mb

FORGE_ROUTES = ("crash", "exit-1", "sigkill", "hide-violation")


@pytest.mark.parametrize("route", FORGE_ROUTES)
def test_a_forged_success_is_not_recorded(target: Target, platform: Platform, route: str) -> None:
    attack = target.attack("forge", route)
    record = attack.record
    forged = f"FORGED-{attack.marker}"
    assert record.status != "successful", f"recorded as successful: {record.outputs}"
    assert forged not in attack.recorded(), "the forged outputs are on record"
    assert record.stored_seq is None
    with platform.db.read() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM city_objects WHERE CAST(attributes AS TEXT) LIKE :a"),
            {"a": "%hostile-forge.score%"},
        ).scalar_one()
    assert stored == 0, "the forged scores reached the twin"
    if route == "hide-violation":  # the refused breach stays on record, whatever it erased
        assert record.status == "sandbox-violation", record.message


BIG_ROUTES = (
    "sdk",  # a 300 MB layer, returned the ordinary way
    "outputs-fd",  # 1 GB down the worker's own result channel, then exit 0
    "log",  # 1 GB to standard output
    "events",  # a 1 GB line down the event channel
    "work-sparse",  # 1 GB sparse files in the work dir named like outputs
    "deep-json",  # 1 MB down the result channel, nested 500,000 levels deep
)
MB = 1024  # ru_maxrss and VmHWM are in kB


def _database_mb(platform: Platform) -> float:
    files = [platform.home / n for n in ("tweeling.db", "tweeling.db-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / (1 << 20)


@pytest.mark.parametrize("route", BIG_ROUTES)
def test_an_oversized_result_is_refused_without_reading_it(
    target: Target, platform: Platform, route: str
) -> None:
    own_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = {pid: high_water_mb(pid) for pid in target.platform_pids[1:]}
    database_before = _database_mb(platform)
    with MemoryWatch(target.platform_pids) as rose:
        attack = target.attack("big", route)
    for pid, growth in rose.items():
        assert growth < 300, f"the platform's process {pid} took {growth:.0f} MB more meanwhile"
    own_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - own_before) / MB
    assert own_growth < 300, f"the platform's peak memory grew by {own_growth:.0f} MB"
    for pid, before in workers.items():
        growth = high_water_mb(pid) - before
        assert growth < 300, f"the Dask worker's peak memory grew by {growth:.0f} MB"
    assert len(attack.recorded()) < 5 << 20, "megabytes of the app's output are on record"
    assert _database_mb(platform) - database_before < 50
    if route == "deep-json":  # refused as the app's fault, not the platform's own failure
        assert attack.record.status != "successful"
        assert not (attack.record.message or "").startswith("platform error"), attack.record.message
    if route in ("sdk", "outputs-fd"):
        message = attack.record.message or ""
        assert attack.record.status != "successful"
        assert re.search(r"256 ?MB|size", message), f"the message names no cap: {message!r}"
