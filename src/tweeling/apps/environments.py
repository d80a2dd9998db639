"""The libraries an app declares, provided as one read-only folder per distinct requirement set.

An app's manifest pins the complete set of libraries it needs beyond the platform's runtime
(``requirements = ["pvlib==0.16.1", …]``); being in the manifest, they are part of the
package's content hash and signature. The platform builds that set once into
``<envs>/<key>``, where the key is the SHA-256 of the sorted pinned requirements that apply
to this machine, so apps with the same set share one folder. A run's sandbox mounts it
read-only and the worker puts it on ``sys.path`` after the runtime, so an app can add
libraries but never replace the platform's own (numpy, shapely, the SDK).

Building is ``pip install --target <temp> --only-binary=:all: --no-deps <set>``: wheels only,
so no publisher's build code runs on the platform; no dependency resolution, so what is
installed is exactly what was signed; into a temporary folder that is sealed read-only and
renamed into place, so a reader never sees half an environment. It happens when an app is
installed, submitted for accreditation or first prepared for a run — before the run, never
inside it: the sandbox has no network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.requirements import Requirement

from tweeling import settings
from tweeling.apps import package_cache
from tweeling.errors import InvalidInput

log = logging.getLogger(__name__)

# Written last into a finished environment: the set it holds, one requirement a line.
LISTING = "tweeling-requirements.txt"
_PIP_TIMEOUT_S = 1800
# What pip says when a requirement has no wheel for this machine on the index.
_UNMET = re.compile(
    r"(?:No matching distribution found for|Could not find a version that satisfies the "
    r"requirement) ([^\s(]+)"
)

Progress = Callable[[str], None]


def default_folder(home: Path) -> Path:
    """Where environments live unless a caller says: ``TWEELING_APP_ENVS``, else
    ``home/envs``."""
    return settings.current().runs.app_envs or home / "envs"


def applicable(requirements: Sequence[str]) -> list[str]:
    """The requirements whose environment marker holds on this machine, sorted, markers
    dropped (the set that is installed here)."""
    chosen = []
    for value in requirements:
        requirement = Requirement(value)
        if requirement.marker is None or requirement.marker.evaluate():
            requirement.marker = None
            chosen.append(str(requirement))
    return sorted(set(chosen))


def key(requirements: Sequence[str]) -> str:
    """The name of the environment of a requirement set: SHA-256 of its sorted lines."""
    return hashlib.sha256("\n".join(applicable(requirements)).encode()).hexdigest()


def location(envs_dir: Path, requirements: Sequence[str]) -> Path | None:
    """Where the environment of ``requirements`` lives (None when nothing applies here)."""
    return envs_dir / key(requirements) if applicable(requirements) else None


def prepare(
    envs_dir: Path, requirements: Sequence[str], app: str, progress: Progress | None = None
) -> Path | None:
    """The environment of ``requirements``, built first if missing; None when the app needs
    nothing beyond the runtime. Raises InvalidInput naming the requirement that cannot be met.
    """
    wanted = applicable(requirements)
    if not wanted:
        return None
    target = envs_dir / key(wanted)
    if (target / LISTING).is_file():
        return target
    if target.exists():  # an interrupted or altered build: never used, built again
        log.warning("app environment %s is incomplete: discarded, built again", target.name)
        package_cache.remove(target)
    envs_dir.mkdir(parents=True, exist_ok=True)
    if progress is not None:
        progress(f"building the environment of {app}: {', '.join(wanted)}")
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=envs_dir))
    try:
        _pip_install(partial, wanted, app)
        (partial / LISTING).write_text("\n".join(wanted) + "\n", encoding="utf-8")
        _seal(partial)
        try:
            partial.rename(target)
        except OSError:
            if not (target / LISTING).is_file():
                raise
            package_cache.remove(partial)  # another process finished the same set first
    except BaseException:
        package_cache.remove(partial)
        raise
    return target


def _seal(root: Path) -> None:
    """Every write permission removed, the deepest first (the root last); executable bits
    and readability stay as pip made them."""
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o222 | 0o444)
        Path(folder).chmod(0o555)


def _pip_install(folder: Path, requirements: list[str], app: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(folder),
        "--only-binary=:all:",
        "--no-deps",
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--quiet",
        *requirements,
    ]
    # pip must not read the platform's own PYTHONPATH or user site into what it installs
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_PIP_TIMEOUT_S,
            check=False,
            env=environment,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InvalidInput(
            f"app {app}: its libraries could not be installed ({type(exc).__name__}: {exc})"
        ) from None
    if done.returncode == 0:
        return
    said = done.stderr.strip()
    unmet = _UNMET.search(said)
    if unmet is not None:
        name = unmet.group(1)
        declared = next((r for r in requirements if _same(r, name)), name)
        raise InvalidInput(
            f"app {app}: its requirement {declared!r} cannot be met: the package index has "
            "no wheel of that version for this platform (Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, {sys.platform}); apps get "
            "wheels only"
        )
    if "No module named pip" in said:
        raise InvalidInput(
            f"app {app}: its libraries cannot be installed: pip is not in the platform's "
            "Python environment (python -m ensurepip adds it)"
        )
    last = said.splitlines()[-1] if said else f"pip exited with {done.returncode}"
    raise InvalidInput(f"app {app}: its libraries could not be installed: {last}")


def _same(requirement: str, name: str) -> bool:
    """Whether ``requirement`` is for the library pip calls ``name`` (pip echoes the line)."""
    return requirement == name or Requirement(requirement).name == re.split(r"[=<>!~]", name)[0]
