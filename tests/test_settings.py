"""The settings object: read per group, again only when the environment changes, bad values
named; the old names of moved settings still work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tweeling import samples, settings
from tweeling.access import oidc
from tweeling.apps import packages
from tweeling.errors import NotConfigured

TWEELING = str(Path(sys.executable).with_name("tweeling"))


def test_the_settings_are_kept_while_the_environment_stays_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEELING_MAX_OUTPUT_MB", "64")
    first = settings.current()
    assert first.runs.max_output_mb == 64
    assert settings.current() is first


def test_a_changed_variable_is_read_at_the_next_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_MAX_OUTPUT_MB", "64")
    assert settings.current().runs.max_output_mb == 64
    monkeypatch.setenv("TWEELING_MAX_OUTPUT_MB", "32")
    assert settings.current().runs.max_output_mb == 32
    monkeypatch.delenv("TWEELING_MAX_OUTPUT_MB")
    assert settings.current().runs.max_output_mb == 256


def test_reset_forgets_the_parsed_settings() -> None:
    before = settings.current()
    settings.reset()
    assert settings.current() is not before


def test_a_relative_home_follows_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEELING_HOME", "state")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert settings.current().storage.home == (tmp_path / "a" / "state").resolve()
    monkeypatch.chdir(tmp_path / "b")
    assert settings.current().storage.home == (tmp_path / "b" / "state").resolve()


def test_a_bad_value_names_its_variable_and_spoils_only_its_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEELING_IMPORT_WORKERS", "many")
    with pytest.raises(NotConfigured, match="TWEELING_IMPORT_WORKERS='many'"):
        _ = settings.current().runs
    assert settings.current().uploads.max_upload_mb == 2048


def test_a_value_out_of_range_is_named_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_AUDIT_CHECKPOINT_ENTRIES", "0")
    with pytest.raises(NotConfigured, match="TWEELING_AUDIT_CHECKPOINT_ENTRIES"):
        settings.current().check()


def test_an_oidc_variable_is_named_with_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_OIDC_JWKS_REFETCH_S", "soon")
    with pytest.raises(NotConfigured, match="TWEELING_OIDC_JWKS_REFETCH_S"):
        _ = settings.current().oidc


@pytest.mark.parametrize(
    "name",
    ["TWEELING_TOKEN", "TWEELING_SAMPLES", "TWEELING_PLATFORM_KEY", "TWEELING_DASK_SCHEDULER"],
)
def test_an_empty_variable_counts_as_unset(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "")
    group, field = settings.variables()[name]
    assert getattr(getattr(settings.current(), group), field) is None


@pytest.mark.parametrize(("value", "on"), [("1", True), ("yes", True), ("0", True), ("", False)])
def test_debug_is_on_for_any_value(value: str, on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_DEBUG", value)
    assert settings.current().cli.debug is on


@pytest.mark.parametrize(("value", "cpus"), [("3", 3), ("0", 0), ("lots", None), ("", None)])
def test_granted_cpus_are_a_whole_number_or_not_granted(
    value: str, cpus: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEELING_CPUS", value)
    assert settings.current().runs.cpus == cpus


def test_moved_settings_keep_their_old_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert oidc.OIDCSettings is settings.OIDCSettings
    monkeypatch.setenv("TWEELING_MAX_PACKAGE_UNPACKED_MB", "7")
    assert packages.PackageLimits().max_package_unpacked_mb == 7
    assert packages.max_unpacked_bytes() == 7 << 20
    monkeypatch.setenv("TWEELING_TRUSTED_PROXIES", "10.0.0.1")
    assert settings.AccessSettings().trusted_proxies == "10.0.0.1"


def test_every_group_has_its_variables_under_one_prefix() -> None:
    names = settings.variables()
    assert all(name.startswith("TWEELING_") for name in names)
    assert names["TWEELING_OIDC_ISSUER"] == ("oidc", "issuer")
    assert names["TWEELING_HOME"] == ("storage", "home")
    assert len(names) == len({(g, f) for g, f in names.values()})


def test_the_cli_reports_a_bad_value_by_name_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "TWEELING_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    env.pop("TWEELING_DATABASE_URL", None)
    init = subprocess.run([TWEELING, "init"], capture_output=True, text=True, env=env, check=False)
    assert init.returncode == 0, init.stderr
    env["TWEELING_IMPORT_WORKERS"] = "many"
    ingest = subprocess.run(
        [TWEELING, "ingest", str(samples.CITIES / "delft.city.json"), "--twin", "delft"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ingest.returncode == NotConfigured.exit_code, ingest.stderr
    assert "TWEELING_IMPORT_WORKERS='many'" in ingest.stderr
    assert "Traceback" not in ingest.stderr
