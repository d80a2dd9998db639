"""Remote apps: an app hosted by its provider behind OGC API – Processes.

The platform prepares the run's inputs exactly as for a local run — only the declared
layers and attributes, for the run's purpose — and sends them, zipped, as the one input
``data`` of an execute request, with the parameters as the other inputs. The provider's
results document (output name → value) comes back into the same checks, storage and
provenance as a local run's outputs. A provider can host an app folder this way with
``tweeling app serve``.
"""

from __future__ import annotations

import base64
import io
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tweeling.apps.manifest import Manifest
from tweeling.apps.sandbox import CRASHED, FAILED, SUCCESSFUL, TIMEOUT, Limits, Outcome

DATA_INPUT = "data"


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                archive.write(path, path.name)
    return buffer.getvalue()


def unzip_inputs(data: bytes, folder: Path) -> None:
    """The inputs archive into ``folder``: plain file names only, nothing outside it."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"unexpected entry {name!r} in the inputs archive")
            (folder / name).write_bytes(archive.read(name))


def execute_request(inputs_dir: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "inputs": {
            **parameters,
            DATA_INPUT: {
                "value": base64.b64encode(zip_folder(inputs_dir)).decode(),
                "encoding": "base64",
                "mediaType": "application/zip",
            },
        },
        "response": "document",
    }


def outputs_from_results(manifest: Manifest, results: dict[str, Any]) -> dict[str, Any]:
    """A results document (name → value) in the runtime's form, by the manifest's kinds;
    names the manifest does not declare are kept aside so the checks can refuse them."""
    kinds = {o.name: o.kind for o in manifest.outputs}
    out: dict[str, dict[str, Any]] = {"attributes": {}, "indicators": {}, "layers": {}}
    for name, value in results.items():
        section = {"attribute": "attributes", "layer": "layers"}.get(kinds.get(name, ""))
        out[section or "indicators"][name] = value
    return out


def call(
    manifest: Manifest, inputs_dir: Path, parameters: dict[str, Any], limits: Limits
) -> Outcome:
    """Run the app at its provider's endpoint; how it ended, never an exception."""
    assert manifest.remote is not None
    url = manifest.remote.rstrip("/") + "/execution"
    started = time.monotonic()
    flags = [f"remote:{manifest.remote}"]

    def measured() -> dict[str, float]:
        return {"wall_s": round(time.monotonic() - started, 3)}

    try:
        response = httpx.post(
            url,
            json=execute_request(inputs_dir, parameters),
            headers={"Prefer": "respond-sync"},
            timeout=httpx.Timeout(limits.wall_s + 30, connect=10),
        )
    except httpx.TimeoutException:
        return Outcome(
            TIMEOUT,
            f"the provider did not answer within {limits.wall_s:g} s",
            flags=flags,
            measured=measured(),
        )
    except httpx.HTTPError as exc:
        return Outcome(
            FAILED,
            f"the provider's endpoint {url} is unreachable: {exc}",
            flags=flags,
            measured=measured(),
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict):
        return Outcome(
            SUCCESSFUL, "", outputs_from_results(manifest, body), flags=flags, measured=measured()
        )
    body = body if isinstance(body, dict) else {}
    title = f" ({body['title']})" if body.get("title") else ""
    detail = body.get("detail") or body.get("message") or response.text[:300]
    status = CRASHED if response.status_code >= 500 else FAILED
    return Outcome(
        status,
        f"the provider's endpoint answered {response.status_code}{title}: {detail}",
        flags=flags,
        measured=measured(),
    )
