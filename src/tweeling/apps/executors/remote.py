"""An app hosted by its provider behind OGC API – Processes, as an executor.

The run's inputs are prepared as for any run; instead of a worker, the provider's endpoint
(the manifest's ``remote``) gets them with the parameters (the wire format is
``tweeling.apps.remote``, shared with ``tweeling app serve``). The app folder and entry point
of the spec are not used: the app's code is at its provider.
"""

from __future__ import annotations

from concurrent.futures import Future

from tweeling.apps import remote
from tweeling.apps.manifest import Manifest
from tweeling.apps.sandbox import Outcome, ProgressCallback, RunSpec


class RemoteExecutor:
    """Runs one remotely hosted app: made per run from its manifest, holding nothing open."""

    name = "remote"

    def __init__(self, manifest: Manifest) -> None:
        if manifest.remote is None:
            raise ValueError(f"{manifest.id} is not hosted remotely")
        self.manifest = manifest

    def submit(self, spec: RunSpec, on_progress: ProgressCallback | None = None) -> Future[Outcome]:
        """Call the provider now (in the caller's thread, as the run waits for it anyway)."""
        done: Future[Outcome] = Future()
        done.set_result(remote.call(self.manifest, spec.inputs_dir, spec.parameters, spec.limits))
        return done

    def close(self) -> None:
        """Nothing to release: each call is one HTTP request."""
