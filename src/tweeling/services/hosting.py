"""A provider hosts its own app (``tweeling app serve DIR``): one app, run in the sandbox on
inputs a platform sends. No twin, no principal and no policy point: the host keeps nothing,
and each run gets a fresh folder that is removed afterwards."""

from __future__ import annotations

import base64
import binascii
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweeling.apps import environments
from tweeling.apps.check import check_app
from tweeling.apps.manifest import Manifest
from tweeling.apps.parameters import resolve
from tweeling.apps.remote import DATA_INPUT, unzip_inputs
from tweeling.apps.runs import limits_of
from tweeling.apps.sandbox import SUCCESSFUL, RunSpec, launch, release
from tweeling.errors import InvalidInput
from tweeling.services.apps import default_envs_dir


@dataclass(frozen=True)
class HostedOutcome:
    """A hosted run's end: its status, and either the results or why it failed."""

    status: str
    message: str | None
    results: dict[str, Any]

    @property
    def successful(self) -> bool:
        return self.status == SUCCESSFUL


@dataclass(frozen=True)
class HostedApp:
    manifest: Manifest
    folder: Path
    env_dir: Path | None = None  # the libraries the app declares (None: it declares none)

    @classmethod
    def load(cls, folder: Path, envs_dir: Path | None = None) -> HostedApp:
        """The app in ``folder``, checked, with the libraries it declares built into
        ``envs_dir`` (default: the platform's) before serving — never during a request's
        run; a remote app's manifest has no code to serve."""
        manifest = check_app(folder).manifest
        if manifest.entry_point is None:
            raise InvalidInput(
                f"{folder}: a remote app's manifest cannot be served; serve the code"
            )
        envs = envs_dir if envs_dir is not None else default_envs_dir()
        env_dir = environments.prepare(envs, manifest.requirements, manifest.id)
        return cls(manifest, folder.resolve(), env_dir)

    def parse(self, inputs: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        """The zipped run inputs and the resolved parameters of an execution request's inputs
        (checked before any work is done, so bad input is a 400, not a failed run)."""
        given = dict(inputs)
        data = given.pop(DATA_INPUT, None)
        if not isinstance(data, dict) or "value" not in data:
            raise InvalidInput(f"input {DATA_INPUT!r} (the zipped run inputs) is missing")
        try:
            archive = base64.b64decode(str(data["value"]), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"input {DATA_INPUT!r} is not base64") from None
        return archive, resolve(self.manifest, given)

    def run(self, archive: bytes, parameters: dict[str, Any]) -> HostedOutcome:
        """One run in the sandbox, in a fresh folder removed afterwards (blocking)."""
        run_dir = Path(tempfile.mkdtemp(prefix="tweeling-hosted-"))
        try:
            try:
                unzip_inputs(archive, run_dir / "inputs")
            except (ValueError, OSError, zipfile.BadZipFile) as exc:
                raise InvalidInput(f"input {DATA_INPUT!r}: {exc}") from None
            assert self.manifest.entry_point is not None
            spec = RunSpec(
                str(run_dir),
                str(self.folder),
                self.manifest.entry_point,
                parameters,
                limits_of(self.manifest),
                env_dir=None if self.env_dir is None else str(self.env_dir),
            )
            outcome = launch(spec)
        finally:
            release(run_dir)
            shutil.rmtree(run_dir, ignore_errors=True)
        out = outcome.outputs or {}
        results = {
            **out.get("attributes", {}),
            **out.get("indicators", {}),
            **out.get("layers", {}),
        }
        return HostedOutcome(outcome.status, outcome.message, results)
