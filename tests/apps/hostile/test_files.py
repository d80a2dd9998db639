"""Hostile apps against the platform's files: writing outside the work dir (around the audit
hook, and with the hook switched off), rows inserted into the platform database, and the
shared extracted-package cache changed under another app. Judged from the disk and the
database, never from what the app says (its journal only explains a failure)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.inputs import sha256_file
from tweeling.apps.runs import Runtime
from tweeling.apps.sandbox import release
from tweeling.services import apps as service

from .conftest import APPS, OPERATOR, Attack, Platform, Target
from .observe import differences, entries_named, tree_state

# The platform's own moving parts in its home: left out of the before/after comparison.
MOVING = (
    "runs",
    "apps",
    "tweeling.db",
    "tweeling.db-wal",
    "tweeling.db-shm",
    "tweeling.db-journal",
)
OUTSIDE = (Path("/"), Path(tempfile.gettempdir()))

VICTIM_ROUTES = ("link", "rename", "fchmod", "proc-fd", "symlink-race")
WRITE_ROUTES = ("open", "relative", "dir-fd", "mknod", "sqlite", "libc", "syscall", *VICTIM_ROUTES)
DISARM_ROUTES = ("gc", "frames", "patch-class", "memmove", "proc-self-mem")


def _journal(attack: Attack) -> str:
    indicators = attack.record.outputs.get("indicators") or {}
    return str(indicators.get("loot") or attack.record.message or "")[:3000]


@pytest.fixture(scope="module")
def write_attack(target: Target) -> Iterator[tuple[Attack, list[str]]]:
    """Every write route in one run; the changes it left, found on disk."""
    home = target.platform.home
    marker = f"w{target.name[0]}{__import__('uuid').uuid4().hex[:8]}"
    folder = home / f"victims-{marker}"
    folder.mkdir()
    victims = {}
    for route in VICTIM_ROUTES:
        victims[route] = str(folder / f"{route}.txt")
        (folder / f"{route}.txt").write_text("untouched\n")
        (folder / f"{route}.txt").chmod(0o644)
    before = tree_state(home, skip=MOVING)
    attack = target.attack("write", "all", marker=marker, victims=victims)
    changes = differences(before, tree_state(home, skip=MOVING))
    escaped = entries_named(OUTSIDE, marker)
    changes += [f"new {p}" for p in escaped]
    yield attack, changes
    for path in escaped:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("route", WRITE_ROUTES)
def test_no_write_outside_the_work_dir(write_attack: tuple[Attack, list[str]], route: str) -> None:
    attack, changes = write_attack
    evidence = [c for c in changes if f"-{route}" in c or f"/{route}.txt" in c]
    assert not evidence, f"route {route} got out: {evidence}\napp's journal:\n{_journal(attack)}"


def test_nothing_else_changed_in_the_platform_home(
    write_attack: tuple[Attack, list[str]],
) -> None:
    attack, changes = write_attack
    assert not changes, f"the home changed: {changes}\napp's journal:\n{_journal(attack)}"


@pytest.mark.parametrize("how", DISARM_ROUTES)
def test_switching_the_audit_hook_off_opens_no_way_out(
    target: Target, how: str, cleanup_marked: list[Path]
) -> None:
    home = target.platform.home
    before = tree_state(home, skip=MOVING)
    attack = target.attack("write", how)
    changes = differences(before, tree_state(home, skip=MOVING))
    escaped = entries_named([*OUTSIDE, home], f"hx{attack.marker}")
    cleanup_marked += escaped + [home / c.split(" ", 1)[1] for c in changes if c.startswith("new")]
    assert not changes and not escaped, (
        f"with the hook off ({how}) the app wrote {changes} {escaped}\n{_journal(attack)}"
    )


def test_the_runs_inputs_stay_as_hashed(target: Target, platform: Platform) -> None:
    if target.name == "dask":
        pytest.skip("a Dask worker runs on its own copy of the inputs, removed with the run")
    keeping = Runtime(platform.db, target.runtime.executor, platform.home, keep_run_dirs=True)
    attack = target.attack("write", "inputs", runtime=keeping)
    run_dir = platform.home / "runs" / attack.record.run_id
    try:
        found = {p.name: sha256_file(p) for p in (run_dir / "inputs").iterdir()}
    finally:
        release(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
    assert found == attack.record.inputs["files"], f"inputs changed\n{_journal(attack)}"


# --- the platform database -----------------------------------------------------------------

DB_ROUTES = ("sqlite-known", "sqlite-proc-fd", "sqlite-relative", "platform-code")


@pytest.fixture(scope="module")
def db_attack(target: Target) -> tuple[Attack, int]:
    with target.platform.db.read() as conn:
        tokens = conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one()
    return target.attack("db", "all"), int(tokens)


@pytest.mark.parametrize("route", DB_ROUTES)
def test_no_rows_reach_the_platform_database(
    db_attack: tuple[Attack, int], platform: Platform, route: str
) -> None:
    attack, _ = db_attack
    with platform.db.read() as conn:
        rows = conn.execute(
            text("SELECT id, name FROM organisations WHERE name = :n"),
            {"n": f"hostile-{attack.marker}-{route}"},
        ).all()
    assert not rows, f"route {route} inserted {rows}\n{_journal(attack)}"


def test_no_api_token_is_minted(db_attack: tuple[Attack, int], platform: Platform) -> None:
    attack, tokens_before = db_attack
    with platform.db.read() as conn:
        forged = conn.execute(
            text("SELECT prefix FROM api_tokens WHERE prefix LIKE :p"),
            {"p": f"%{attack.marker}%"},
        ).all()
        tokens = conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one()
    assert not forged and tokens == tokens_before, f"tokens minted: {forged}\n{_journal(attack)}"


def test_no_rows_reach_postgresql_over_loopback(
    db_attack: tuple[Attack, int], platform: Platform
) -> None:
    if not platform.pg_url:
        pytest.skip("no PostgreSQL server for this route (TWEELING_TEST_PG_URL)")
    attack, _ = db_attack
    engine = create_engine(platform.pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT x FROM {platform.pg_schema}.canary WHERE x = :m"),
                {"m": attack.marker},
            ).all()
    finally:
        engine.dispose()
    assert not rows, f"the app wrote to PostgreSQL\n{_journal(attack)}"


# --- the shared extracted-package cache ----------------------------------------------------


@pytest.fixture(scope="module")
def cache_attack(
    target: Target, platform: Platform, victim: Path
) -> Iterator[tuple[Attack, list[str]]]:
    """All cache routes in one run; how the cache changed."""
    package_root = victim.parent.parent  # <cache>/<content hash>/hostile_victim/app.py
    cache = package_root.parent
    own = platform.package("cache", target.scratch)
    packages.extract(own, cache)  # as the platform's own run would: in the cache before
    before = tree_state(cache)
    attack = target.attack(
        "cache",
        "all",
        victim_module=str(victim),
        victim_root=str(package_root),
        cache=str(cache),
    )
    changes = differences(before, tree_state(cache))
    yield attack, changes
    for change in changes:
        if change.startswith("new ") and "/" not in change[4:]:
            shutil.rmtree(cache / change[4:], ignore_errors=True)


def test_the_package_cache_stays_as_extracted(cache_attack: tuple[Attack, list[str]]) -> None:
    attack, changes = cache_attack
    assert not changes, f"the cache changed: {changes}\n{_journal(attack)}"


def test_the_victim_still_runs_its_own_code(
    cache_attack: tuple[Attack, list[str]], platform: Platform
) -> None:
    executor = LocalExecutor(slots=1)
    runtime = Runtime(platform.db, executor, platform.home)
    try:
        first = service.run(
            runtime, OPERATOR, "delft", package=packages.from_path(APPS / "victim"), purpose="tests"
        )
        # answered from the first run's record: replay it to really run the package again
        again = service.replay(runtime, OPERATOR, first.cached_from or first.run_id).replay
    finally:
        executor.close()
    assert again.cached_from is None
    assert again.status == "successful", again.message
    assert again.outputs["indicators"]["answer"] == 42, "the victim ran the hostile app's code"
