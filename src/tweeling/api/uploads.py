"""Upload bodies streamed to a spool file under a size cap, and archives checked from their
end records before anything parses their central directory.

An upload never sits in memory whole: the body is written, as it arrives, to one file per
request under ``TWEELING_HOME/tmp/uploads`` (owner-only), and cut off the moment it passes its
cap. The caller checks permission before it opens the spool, so a body nobody may send is never
read. The file is removed on every way out of the ``spooled`` block (success, an error, the
client going away, cancellation), and files that a killed server left behind are removed at
start-up by :func:`remove_stale`.

Each spool file is held under an exclusive ``flock`` while its request lives. Several workers
(gunicorn) share the folder, and one may start while another is receiving an upload: start-up
removes only the files no living process holds.
"""

from __future__ import annotations

import fcntl
import os
import struct
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request

from tweeling.errors import (
    InputFileError,
    InvalidInput,
    NotConfigured,
    TooLarge,
    TweelingError,
)
from tweeling.settings import UploadSettings

MB = 1024 * 1024
_FLUSH_BYTES = MB  # received chunks are written in pieces of about this size, off the loop
_PREFIX = "upload-"


def spool_folder(home: Path) -> Path:
    return home / "tmp" / "uploads"


@dataclass(frozen=True)
class Cap:
    """How many bytes a body may have, and how to say so."""

    limit: int
    what: str  # e.g. "a dataset upload"
    setting: str  # the environment variable that sets it

    @property
    def mb(self) -> int:
        return self.limit // MB

    def refused(self, found: str) -> TooLarge:
        return TooLarge(f"{self.what} may be at most {self.mb} MB ({self.setting}); {found}")


def _settings() -> UploadSettings:
    try:
        found = UploadSettings()
    except ValidationError:
        found = None
    if found is None or min(found.max_upload_mb, found.max_package_mb) < 1:
        raise NotConfigured(
            "TWEELING_MAX_UPLOAD_MB and TWEELING_MAX_PACKAGE_MB must be whole numbers of "
            "megabytes, 1 or more"
        )
    return found


def dataset_cap() -> Cap:
    return Cap(_settings().max_upload_mb * MB, "a dataset upload", "TWEELING_MAX_UPLOAD_MB")


def package_cap() -> Cap:
    return Cap(_settings().max_package_mb * MB, "an app package", "TWEELING_MAX_PACKAGE_MB")


def declared_length(request: Request) -> int | None:
    """The body's Content-Length, if it names one (a chunked body does not)."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise InvalidInput(f"Content-Length must be a number of bytes (got {value!r})")
    return int(value)


@dataclass
class _Spool:
    path: Path
    fd: int

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def discard(self) -> None:
        # unlink while the lock is held, so start-up in another worker never sees it free
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)


def _open_spool(folder: Path, suffix: str) -> _Spool:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    while True:
        fd, name = tempfile.mkstemp(prefix=_PREFIX, suffix=suffix, dir=folder)  # 0600, O_EXCL
        fcntl.flock(fd, fcntl.LOCK_EX)
        # a start-up sweep may have taken the file between its creation and our lock: keep it
        # only if the path still names the file we hold
        try:
            if os.stat(name).st_ino == os.fstat(fd).st_ino:
                return _Spool(Path(name), fd)
        except FileNotFoundError:
            pass
        os.close(fd)


def remove_stale(folder: Path) -> int:
    """Remove the spool files no living process holds (a killed server's); how many."""
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    removed = 0
    for path in entries:
        if path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
            continue
        if not path.is_file():
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # an upload in progress in another worker
            continue
        try:
            path.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


async def _receive(request: Request, spool: _Spool, cap: Cap) -> int:
    received = 0
    pending: list[bytes] = []
    pending_bytes = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > cap.limit:
                raise cap.refused(f"this body was cut off after {cap.mb} MB")
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= _FLUSH_BYTES:
                await anyio.to_thread.run_sync(spool.write, b"".join(pending))
                pending, pending_bytes = [], 0
    except ClientDisconnect:
        raise InvalidInput(
            f"the upload was interrupted after {received} bytes: the client went away"
        ) from None
    if pending:
        await anyio.to_thread.run_sync(spool.write, b"".join(pending))
    return received


def _scrubbed(error: TweelingError, spool: Path, public: str) -> TweelingError:
    """The error without the server's spool path in its message (the file's public name)."""
    if isinstance(error, InputFileError) and str(spool) in error.path:
        return type(error)(public, error.problem, error.object_id)
    for secret in (str(spool), str(spool.parent)):
        if secret in error.message:
            error.message = error.message.replace(secret, public)
            error.args = (error.message,)
    return error


@asynccontextmanager
async def spooled(
    request: Request, folder: Path, cap: Cap, *, suffix: str = "", public: str = "the upload"
) -> AsyncIterator[Path]:
    """The request body as a file in ``folder``, received under ``cap``; removed afterwards.

    Refused before a byte is read when Content-Length is over the cap; cut off while streaming
    when a body without one passes it. Errors raised inside the block name the file
    ``public``, never its path on this server.
    """
    declared = declared_length(request)
    if declared is not None and declared > cap.limit:
        raise cap.refused(f"Content-Length says {declared} bytes")
    spool = await anyio.to_thread.run_sync(_open_spool, folder, suffix)
    try:
        await _receive(request, spool, cap)
        try:
            yield spool.path
        except TweelingError as error:
            scrubbed = _scrubbed(error, spool.path, public)
            if scrubbed is error:
                raise
            raise scrubbed from None
    finally:
        spool.discard()  # plain system calls: runs even while the task is being cancelled


# Before zipfile parses an archive's central directory (one object per entry, in memory), its
# end records say how many entries there are and how many bytes the directory takes: an
# archive of millions of empty entries is refused here, before that parse. What the entries
# themselves may be (names, ratios, unpacked size) is the packages' own check.
DIRECTORY_BYTES_PER_ENTRY = 512
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


def _directory_extent(path: Path) -> tuple[int, int] | None:
    """(entries, central directory bytes) from the end records, found as zipfile finds them."""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - (22 + 65535)))
        tail = f.read()
        start = size - len(tail)
        at = tail.rfind(_EOCD)
        if at < 0 or len(tail) - at < 22:
            return None
        entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
        if entries != 0xFFFF and directory != 0xFFFFFFFF:
            return int(entries), int(directory)
        locator = start + at - 20  # a zip64 archive: the real counts are in its own record
        if locator < 0:
            return None
        f.seek(locator)
        found = f.read(20)
        if len(found) < 20 or found[:4] != _EOCD64_LOCATOR:
            return None
        (offset,) = struct.unpack("<Q", found[8:16])
        f.seek(offset)
        record = f.read(56)
        if len(record) < 56 or record[:4] != _EOCD64:
            return None
        entries64, directory64 = struct.unpack("<QQ", record[32:48])
        return int(entries64), int(directory64)


def check_zip_extent(path: Path, max_entries: int, public: str = "the package") -> None:
    """Refuse a file that is no zip archive (400), or whose central directory lists more than
    ``max_entries`` entries or takes more than 512 bytes an entry (413), from its end records
    alone."""
    extent = _directory_extent(path)
    if extent is None:
        raise InvalidInput(f"{public} is not a zip archive")
    entries, directory = extent
    if entries > max_entries:
        raise TooLarge(f"{public} has {entries} entries; at most {max_entries} are accepted")
    if directory > max_entries * DIRECTORY_BYTES_PER_ENTRY:
        raise TooLarge(
            f"{public}'s list of entries takes {directory} bytes; at most "
            f"{max_entries * DIRECTORY_BYTES_PER_ENTRY} are accepted"
        )
