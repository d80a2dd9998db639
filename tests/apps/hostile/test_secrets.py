"""Hostile apps after the platform's secrets: its database, its private key and the secrets
file beside it, its environment, other runs' inputs. Each route returns whatever it found
(in its output, its log, its error); the test looks for the canaries — random strings no app
is given — in everything the platform recorded about the run."""

from __future__ import annotations

import pytest

from .conftest import Platform, Target

READ_ROUTES = (
    "known-paths",  # <home>/tweeling.db, <home>/keys/…, the whole home
    "relative",  # up from the run's own folders
    "proc-parent",  # the parent's and the platform's /proc/PID/{environ,fd,root,cwd}
    "proc-scan",  # the same for every process it can see
    "walk-root",  # every file it can reach from /
    "environment",  # its own, init's and its parent's environment
    "other-runs",  # <home>/runs/*/inputs, a Dask worker's /tmp/tweeling-run-*/run/inputs
)


@pytest.mark.parametrize("route", READ_ROUTES)
def test_no_secret_reaches_the_app(target: Target, platform: Platform, route: str) -> None:
    attack = target.attack("read", route)
    recorded = attack.recorded()
    leaked = {name: value for name, value in platform.canaries.items() if value in recorded}
    assert not leaked, (
        f"route {route} read {sorted(leaked)} (status {attack.record.status}); "
        f"found: {[line for line in recorded.split(chr(92) + 'n') if 'canary' in line][:5]}"
    )
