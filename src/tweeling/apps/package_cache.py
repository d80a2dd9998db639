"""The extracted-package cache: one read-only folder per content hash, verified before each use.

Runs execute an app from its extracted folder, so a file changed there (by a hostile run, or
anyone with access to the platform's home) would be executed by the next run of that package,
signed or not. The cache is therefore never trusted: before every use the folder is compared
with the package's own listing — exactly its files, each a plain read-only file whose SHA-256
matches, folders read-only, no links — and on any difference it is discarded (logged) and
extracted again. Files are written 0444 and folders 0555 so an accidental write fails; the
check is what holds even against a writer who can chmod (the platform's own user, root).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from tweeling.errors import Conflict

log = logging.getLogger(__name__)

FILE_MODE = 0o444
FOLDER_MODE = 0o555
_ATTEMPTS = 3


def difference(root: Path, digests: Mapping[str, str]) -> str | None:
    """How the folder ``root`` differs from the listing (None when it holds exactly it)."""
    try:
        top = os.lstat(root)
    except FileNotFoundError:
        return "it is missing"
    if not stat.S_ISDIR(top.st_mode):
        return "it is not a plain folder"
    found = 0
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        mode = stat.S_IMODE(os.lstat(here).st_mode)
        if mode != FOLDER_MODE:
            return f"folder {here.relative_to(root).as_posix()!r} has mode {mode:o}"
        for name in folders:
            if (here / name).is_symlink():
                return f"{(here / name).relative_to(root).as_posix()!r} is a link"
        for name in files:
            path = here / name
            relative = path.relative_to(root).as_posix()
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                return f"{relative!r} is not a plain file"
            if relative not in digests:
                return f"{relative!r} is not in the package"
            if stat.S_IMODE(info.st_mode) != FILE_MODE:
                return f"{relative!r} has mode {stat.S_IMODE(info.st_mode):o}"
            with open(path, "rb", opener=_no_follow) as handle:
                if hashlib.file_digest(handle, "sha256").hexdigest() != digests[relative]:
                    return f"{relative!r} was changed"
            found += 1
    if found != len(digests):
        return f"{len(digests) - found} file(s) of the package are missing"
    return None


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _seal(root: Path) -> None:
    """Files read-only, then folders read-only from the deepest up (the root last)."""
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            os.chmod(Path(folder) / name, FILE_MODE, follow_symlinks=False)
        os.chmod(folder, FOLDER_MODE)


def remove(root: Path) -> None:
    """Delete a sealed (or half-written) folder: moved aside first, so no reader finds it half
    gone, then made writable and removed."""
    aside = root.with_name(f".discarded-{root.name}-{uuid.uuid4().hex[:8]}")
    try:
        root.rename(aside)
    except FileNotFoundError:
        return  # someone else removed it meanwhile
    for folder, _, _ in os.walk(aside):
        os.chmod(folder, 0o755)
    shutil.rmtree(aside, ignore_errors=True)


def materialise(
    folder: Path, key: str, digests: Mapping[str, str], write: Callable[[Path], None]
) -> Path:
    """``folder/key`` holding exactly the listed files, verified; ``write(partial)`` fills a
    fresh folder when the cached one is missing or differs from the listing."""
    target = folder / key
    for _ in range(_ATTEMPTS):
        problem = difference(target, digests)
        if problem is None:
            return target
        if problem != "it is missing":
            log.warning(
                "package cache %s was altered (%s): discarded, extracted again", key, problem
            )
            remove(target)
        folder.mkdir(parents=True, exist_ok=True)
        # a folder of its own per call: two job threads of one process may extract the same
        # package at once, and must not write into (or rename away) each other's half
        partial = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder))
        try:
            write(partial)
            _seal(partial)
        except BaseException:
            remove(partial)
            raise
        try:
            partial.rename(target)
        except OSError:  # another thread or process put its copy there first: check that one
            remove(partial)
    problem = difference(target, digests)
    if problem is None:
        return target
    raise Conflict(f"the extracted package {key[:12]}… keeps being altered ({problem}); not used")
