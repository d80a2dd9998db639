"""Uploads, tried as a hostile client would: bodies over the cap (declared and chunked), zip
bombs, bodies from callers who may not send them, clients that vanish mid-body, a server
killed with spool files left behind. Checked from outside: the spool folder and the home on
disk, the database's rows, and what the server answers on a raw socket before the body ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select
from starlette.requests import Request

from tests.api.conftest import as_
from tests.api.live import live_server
from tweeling.access import identity
from tweeling.api import uploads
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.storage.db import Database
from tweeling.storage.schema import app_packages, datasets
from tweeling.twin.ingest import ingest

MB = 1024 * 1024
PACKAGE = {"Content-Type": "application/vnd.tweeling.app+zip"}
CITYJSON = {"Content-Type": "application/city+json"}


def _tiny(object_id: str = "upload-1", padding: int = 0) -> bytes:
    """A valid one-building CityJSON document, padded with whitespace to ``padding`` bytes."""
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [85000, 447000, 0]},
        "CityObjects": {
            object_id: {
                "type": "Building",
                "geometry": [{"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 2, 3]]]}],
            }
        },
        "vertices": [[0, 0, 0], [10000, 0, 0], [10000, 10000, 0], [0, 10000, 0]],
    }
    text = json.dumps(doc).encode()
    return text[:-1] + b" " * max(0, padding - len(text)) + b"}"


@pytest.fixture
def platform(db: Database, tmp_path: Path) -> dict[str, str]:
    """As the API tests' platform (same people and tokens), with a one-building Delft twin:
    these tests need a twin to upload to, not the sample city."""
    tokens: dict[str, str] = {}
    with db.begin() as conn:
        identity.bootstrap(conn)
        for org in ("Gemeente Delft", "Gemeente Rotterdam"):
            identity.create_organisation(conn, org, "municipality", actor="test")
        for email, org, role in (
            ("admin@delft.nl", "Gemeente Delft", "admin"),
            ("viewer@delft.nl", "Gemeente Delft", "viewer"),
            ("admin@rotterdam.nl", "Gemeente Rotterdam", "admin"),
        ):
            identity.add_member(conn, email, org, role, actor="test")
            tokens[email] = identity.create_token(conn, email, org, actor="test").secret
        delft = identity.get_organisation(conn, "Gemeente Delft").id
    seed = tmp_path / "seed.city.json"
    seed.write_bytes(_tiny("seed"))
    ingest(db, seed, "delft", owner_org_id=delft)
    return tokens


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("TWEELING_HOME", str(folder))
    return folder


def _spool(home: Path) -> Path:
    return uploads.spool_folder(home)


def _spooled_files(home: Path) -> list[Path]:
    folder = _spool(home)
    return sorted(folder.iterdir()) if folder.exists() else []


def _spooled_bytes(home: Path) -> int:
    total = 0
    for path in _spooled_files(home):
        with contextlib.suppress(FileNotFoundError):  # its request just ended
            total += path.stat().st_size
    return total


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _count(db: Database, table: Table) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds (a wait for an event, not a timing assertion)."""
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


# --- a raw HTTP/1.1 client: it can stop sending a body and still read the answer ----------


def _connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    return sock


def _head(sock: socket.socket, path: str, headers: dict[str, str]) -> None:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _answer(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """Status and JSON body of the response (blocks until the server answers)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        if not got:
            raise AssertionError(f"the server closed without answering: {data!r}")
        data += got
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length")
    )
    while len(rest) < length:
        got = sock.recv(65536)
        if not got:
            break
        rest += got
    return status, json.loads(rest[:length])


@pytest.fixture
def server(db: Database, platform: dict[str, str], home: Path) -> Iterator[str]:
    with live_server(create_app(db, run_jobs=False)) as base:
        yield base


# --- the order: who may upload is decided before the body is read ------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("viewer@delft.nl", 403), ("admin@rotterdam.nl", 404)],
)
def test_a_caller_who_may_not_upload_is_answered_before_the_body(
    server: str, platform: dict[str, str], home: Path, who: str | None, status: int
) -> None:
    headers = {**CITYJSON, "Content-Length": str(1024 * MB)}
    if who is not None:
        headers["Authorization"] = f"Bearer {platform[who]}"
    with _connect(server) as sock:
        _head(sock, "/twins/delft/datasets", headers)
        sock.sendall(b"{" + b" " * (64 * 1024))  # 64 KB of a declared 1 GB, then nothing more
        code, body = _answer(sock)
    assert code == status, body
    assert _spooled_files(home) == []


def test_a_package_from_someone_who_may_not_publish_is_answered_before_the_body(
    server: str, platform: dict[str, str], home: Path
) -> None:
    headers = {**PACKAGE, "Content-Length": str(200 * MB)}
    headers["Authorization"] = f"Bearer {platform['viewer@delft.nl']}"
    with _connect(server) as sock:
        _head(sock, "/store/apps", headers)
        sock.sendall(b"PK" + b"\0" * (64 * 1024))
        code, body = _answer(sock)
    assert code == 403, body
    assert "listing" in str(body["message"])
    assert _spooled_files(home) == []


# --- the cap ------------------------------------------------------------------------------


def test_a_declared_length_over_the_cap_is_refused_before_a_byte_is_sent(
    server: str, platform: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEELING_MAX_UPLOAD_MB", "1")
    headers = {**CITYJSON, **as_(platform, "admin@delft.nl"), "Content-Length": str(2 * MB)}
    with _connect(server) as sock:
        _head(sock, "/twins/delft/datasets", headers)  # headers only: no body at all
        code, body = _answer(sock)
    assert code == 413
    assert body["code"] == "too-large"
    assert "1 MB" in str(body["message"]) and "TWEELING_MAX_UPLOAD_MB" in str(body["message"])
    assert _spooled_files(home) == []


def test_a_chunked_body_is_cut_off_at_the_cap_while_it_streams(
    server: str, db: Database, platform: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEELING_MAX_UPLOAD_MB", "1")
    headers = {**CITYJSON, **as_(platform, "admin@delft.nl"), "Transfer-Encoding": "chunked"}
    before = _count(db, datasets)
    with _connect(server) as sock:
        _head(sock, "/twins/delft/datasets", headers)
        for _ in range(17):  # 17 x 64 KB: just over 1 MB, and the body never ends
            sock.sendall(_chunk(b" " * (64 * 1024)))
        code, body = _answer(sock)
    assert code == 413, body
    assert "cut off after 1 MB" in str(body["message"])
    assert _spooled_files(home) == []
    assert _count(db, datasets) == before


def test_the_package_cap_is_its_own(
    db: Database, platform: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEELING_MAX_PACKAGE_MB", "1")
    with TestClient(create_app(db, run_jobs=False)) as client:
        r = client.post(
            "/store/apps",
            content=b"PK" + os.urandom(2 * MB),
            headers={**PACKAGE, **as_(platform, "admin@delft.nl")},
        )
    assert r.status_code == 413
    assert "TWEELING_MAX_PACKAGE_MB" in r.json()["message"]
    assert _spooled_files(home) == []


def test_a_cap_that_is_not_a_number_is_a_configuration_error(
    db: Database, platform: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEELING_MAX_UPLOAD_MB", "lots")
    with TestClient(create_app(db, run_jobs=False)) as client:
        r = client.post(
            "/twins/delft/datasets",
            content=_tiny(),
            headers={**CITYJSON, **as_(platform, "admin@delft.nl")},
        )
    assert r.status_code == 503
    assert "TWEELING_MAX_UPLOAD_MB" in r.json()["message"]


# --- archives -----------------------------------------------------------------------------


def _zeros_zip(path: Path, size: int) -> Path:
    """A zip of one entry of ``size`` zero bytes, written as it is compressed."""
    block = b"\0" * MB
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("tweeling-app.toml", "w", force_zip64=True) as entry,
    ):
        for _ in range(size // MB):
            entry.write(block)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """1 GB of zeros in about 1 MB."""
    return _zeros_zip(tmp_path_factory.mktemp("bomb") / "bomb.twapp", 1024 * MB).read_bytes()


def _publish(db: Database, platform: dict[str, str], archive: bytes) -> httpx2.Response:
    with TestClient(create_app(db, run_jobs=False)) as client:
        return client.post(
            "/store/apps", content=archive, headers={**PACKAGE, **as_(platform, "admin@delft.nl")}
        )


def test_a_zip_bomb_is_refused_with_nothing_unpacked(
    db: Database, platform: dict[str, str], home: Path, bomb: bytes
) -> None:
    assert len(bomb) < 4 * MB
    r = _publish(db, platform, bomb)
    assert r.status_code in (400, 413), r.text
    assert "zip bomb" in r.json()["message"]
    assert _spooled_files(home) == []
    assert _bytes_under(home) < MB  # nothing unpacked anywhere under the home
    assert _count(db, app_packages) == 0


def test_an_archive_that_would_unpack_over_the_limit_is_refused(
    db: Database,
    platform: dict[str, str],
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEELING_MAX_PACKAGE_UNPACKED_MB", "1")
    path = tmp_path / "big.twapp"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tweeling-app.toml", b"")
        for n in range(3):  # each under the size from which ratios are judged
            archive.writestr(f"data/{n}.bin", b"\0" * (900 * 1024))
    assert path.stat().st_size < 100 * 1024  # small on the wire, 2.7 MB declared
    r = _publish(db, platform, path.read_bytes())
    assert r.status_code in (400, 413), r.text
    assert "TWEELING_MAX_PACKAGE_UNPACKED_MB" in r.json()["message"]
    assert _count(db, app_packages) == 0


def test_an_archive_of_too_many_entries_is_refused_from_its_end_record(
    db: Database, platform: dict[str, str], home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "many.twapp"
    with zipfile.ZipFile(path, "w") as archive:
        for n in range(packages.MAX_ENTRIES + 1):
            archive.writestr(f"f{n}", b"")
    r = _publish(db, platform, path.read_bytes())
    assert r.status_code == 413, r.text
    assert f"{packages.MAX_ENTRIES + 1} entries" in r.json()["message"]


def test_a_central_directory_larger_than_its_entries_need_is_refused(
    db: Database, platform: dict[str, str], home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "long-names.twapp"
    with zipfile.ZipFile(path, "w") as archive:  # few entries, each with a 60 KB comment
        for n in range(200):
            info = zipfile.ZipInfo(f"f{n}")
            info.comment = b"c" * 60_000
            archive.writestr(info, b"")
    r = _publish(db, platform, path.read_bytes())
    assert r.status_code == 413, r.text
    assert "list of entries" in r.json()["message"]


@pytest.mark.parametrize(
    "name", ["../outside.py", "/etc/cron.d/x", "a/../../b", "C:/x", "a\\..\\b"]
)
def test_an_archive_entry_that_escapes_its_folder_is_refused(
    db: Database, platform: dict[str, str], home: Path, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "escape.twapp"
    placeholder = "Q" * len(name)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tweeling-app.toml", b"")
        archive.writestr(placeholder, b"print('hi')")
    # zipfile cleans the names it writes: put the hostile one into the archive's headers
    raw = path.read_bytes().replace(placeholder.encode(), name.encode())
    r = _publish(db, platform, raw)
    assert r.status_code == 400, r.text
    assert repr(name) in r.json()["message"]
    assert _count(db, app_packages) == 0
    assert str(home) not in r.text and "uploads" not in r.text


def test_a_body_that_is_not_a_zip_is_refused_without_a_server_path(
    db: Database, platform: dict[str, str], home: Path
) -> None:
    r = _publish(db, platform, b"not a zip at all")
    assert r.status_code == 400
    assert "the uploaded package" in r.json()["message"]
    assert str(home) not in r.text


# --- spool files never outlive their request ----------------------------------------------


def test_an_import_leaves_no_spool_file_and_errors_name_no_server_path(
    db: Database, platform: dict[str, str], home: Path
) -> None:
    headers = {**CITYJSON, **as_(platform, "admin@delft.nl")}
    with TestClient(create_app(db, run_jobs=False)) as client:
        ok = client.post("/twins/delft/datasets", content=_tiny(), headers=headers)
        assert ok.status_code == 201, ok.text
        assert ok.json()["objects"] == 1
        assert _spooled_files(home) == []
        broken = client.post(
            "/twins/delft/datasets", content=b'{"type": "CityJSON", ', headers=headers
        )
    assert broken.status_code == 400, broken.text
    assert str(home) not in broken.text and "tmp/uploads" not in broken.text
    assert "the uploaded file" in broken.json()["message"]
    assert _spooled_files(home) == []
    if _spool(home).exists():
        assert (_spool(home).stat().st_mode & 0o777) == 0o700


def test_a_client_that_goes_away_mid_body_leaves_no_spool_file(
    server: str, platform: dict[str, str], home: Path
) -> None:
    headers = {**CITYJSON, **as_(platform, "admin@delft.nl"), "Content-Length": str(64 * MB)}
    with _connect(server) as sock:
        _head(sock, "/twins/delft/datasets", headers)
        sock.sendall(b"{" + b" " * (2 * MB))
        _wait_for(lambda: _spooled_bytes(home) > 0, "a spool file")
        (spool,) = _spooled_files(home)
        assert (spool.stat().st_mode & 0o777) == 0o600
    _wait_for(lambda: _spooled_files(home) == [], "the spool file to go")


def test_a_cancelled_upload_leaves_no_spool_file(tmp_path: Path) -> None:
    """Cancellation (a server shutting down mid-body) reaches the block; the file goes."""
    folder = tmp_path / "spool"

    async def scenario() -> None:
        async def receive() -> dict[str, object]:
            await anyio.sleep_forever()  # the body never comes
            raise AssertionError("unreachable")

        request = Request({"type": "http", "method": "POST", "headers": []}, receive)
        cap = uploads.Cap(64 * MB, "a test upload", "TEST_CAP")
        async with anyio.create_task_group() as group:

            async def upload() -> None:
                async with uploads.spooled(request, folder, cap):
                    raise AssertionError("the body never ended")

            group.start_soon(upload)
            while not (folder.exists() and list(folder.iterdir())):
                await anyio.sleep(0.01)
            group.cancel_scope.cancel()

    anyio.run(scenario)
    assert list(folder.iterdir()) == []


def test_stale_spool_files_are_removed_at_start_up_but_not_one_in_use(
    db: Database, home: Path
) -> None:
    folder = _spool(home)
    folder.mkdir(parents=True)
    stale = folder / "upload-killed.city.json"
    stale.write_bytes(b"left behind by a killed server")
    in_use = folder / "upload-other-worker.twapp"
    in_use.write_bytes(b"another worker is receiving this")
    with in_use.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a living worker holds its spool file
        with TestClient(create_app(db, run_jobs=False)):
            assert not stale.exists()
            assert in_use.exists()


# --- the event loop -----------------------------------------------------------------------


def test_the_server_answers_others_while_a_large_upload_is_in_progress(
    server: str, db: Database, platform: dict[str, str], home: Path
) -> None:
    body = _tiny("big-upload", padding=16 * MB)
    headers = {**CITYJSON, **as_(platform, "admin@delft.nl"), "Content-Length": str(len(body))}
    half = len(body) // 2
    with _connect(server) as sock:
        _head(sock, "/twins/delft/datasets", headers)
        sock.sendall(body[:half])
        _wait_for(lambda: _spooled_bytes(home) > MB, "spooling")
        other = httpx2.get(f"{server}/twins/delft", headers=as_(platform, "viewer@delft.nl"))
        assert other.status_code == 200  # answered while the upload is half-way
        assert _spooled_files(home) != []  # and the upload is indeed still in progress
        sock.sendall(body[half:])
        code, answer = _answer(sock)
    assert code == 201, answer
    assert answer["objects"] == 1
    assert _spooled_files(home) == []
