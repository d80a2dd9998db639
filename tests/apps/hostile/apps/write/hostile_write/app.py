"""Writes a file outside its work dir, one route at a time or all at once ("all").

Each route aims at its own target, ``<home>/escaped-<marker>-<route>`` or a victim file the
test made for it, so the test can tell from the disk which route got out. The routes below
"all" go around the audit hook (descriptor-relative calls, links, renames, mknod, sqlite3,
libc, raw system calls, a symlink race); the "disarm" routes switch the hook off first;
"inputs" changes, adds and removes files among the run's own inputs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks

PAYLOAD = b"written by a hostile app\n"


def _symlink_race(work: Path, victim: str, deadline: float) -> int:
    """Flip a link between a file inside and the victim while opening it for writing: the
    hook checks the path, then the kernel opens whatever the link names by then."""
    inside = work / "harmless.txt"
    inside.write_bytes(b"")
    link, spare = work / "flip", work / "flip.next"
    stop = threading.Event()

    def flipper() -> None:
        targets = [str(inside), victim]
        turn = 0
        while not stop.is_set():
            spare.unlink(missing_ok=True)
            os.symlink(targets[turn % 2], spare)
            os.replace(spare, link)
            turn += 1

    thread = threading.Thread(target=flipper, daemon=True)
    thread.start()
    wins = 0
    try:
        while time.monotonic() < deadline:
            try:
                with open(link, "r+b") as handle:
                    handle.write(b"CHANGED BY A SYMLINK RACE\n")
                    wins += 1
            except OSError:
                pass
    finally:
        stop.set()
        thread.join()
    return wins


def _escape_all(plan: dict[str, Any], inputs: Inputs, journal: tricks.Journal) -> None:
    home, marker, victims = plan["home"], plan["marker"], plan["victims"]
    work = Path.cwd()

    def target(route: str) -> str:
        return os.path.join(home, f"escaped-{marker}-{route}")

    def plain() -> int:
        with open(target("open"), "w") as handle:
            return handle.write("escaped")

    def relative() -> int:
        up = Path(inputs.folder).joinpath(*[".."] * 3, f"escaped-{marker}-relative")
        with open(up, "w") as handle:
            return handle.write("escaped")

    def link() -> int:
        os.link(victims["link"], work / "linked")
        with open(work / "linked", "r+b") as handle:
            return handle.write(b"CHANGED THROUGH A HARD LINK\n")

    def fchmod() -> str:
        fd = os.open(victims["fchmod"], os.O_RDONLY)
        os.chmod(fd, 0o777)
        return "mode 777"

    def proc_fd() -> int:
        fd = os.open(victims["proc-fd"], os.O_RDONLY)
        with open(f"/proc/self/fd/{fd}", "r+b") as handle:
            return handle.write(b"CHANGED THROUGH /proc/self/fd\n")

    def sqlite() -> str:
        connection = sqlite3.connect(target("sqlite"))
        connection.execute("CREATE TABLE escaped (x)")
        connection.commit()
        return "database made"

    routes = {
        "open": plain,
        "relative": relative,
        "dir-fd": lambda: tricks.dir_fd_write(home, f"escaped-{marker}-dir-fd", PAYLOAD),
        "link": link,
        "rename": lambda: os.rename(victims["rename"], work / "stolen"),
        "mknod": lambda: os.mknod(target("mknod")),
        "fchmod": fchmod,
        "proc-fd": proc_fd,
        "sqlite": sqlite,
        "libc": lambda: tricks.libc_write(target("libc"), PAYLOAD),
        "syscall": lambda: tricks.syscall_write(target("syscall"), PAYLOAD),
        "symlink-race": lambda: _symlink_race(
            work, victims["symlink-race"], time.monotonic() + 1.5
        ),
    }
    for route, action in routes.items():
        journal.attempt(route, action)


def _escape_disarmed(how: str, plan: dict[str, Any], journal: tricks.Journal) -> None:
    home, marker = plan["home"], plan["marker"]
    if how in ("memmove", "proc-self-mem"):
        allowed = journal.attempt(
            f"{how}: widen", lambda: tricks.widen_workdir(home, f"hx{marker}", how != "memmove")
        )
        if allowed:
            journal.attempt(f"{how}: mkdir", lambda: os.makedirs(allowed, exist_ok=True))
            journal.attempt(f"{how}: write", lambda: Path(allowed, "escaped").write_text("out"))
        return

    def write() -> int:
        with tricks.disarmed(how) as what:
            journal.lines.append(what)
            with open(os.path.join(home, f"escaped-{marker}-{how}"), "w") as handle:
                return handle.write("escaped with the hook switched off")

    journal.attempt(how, write)


def _tamper_with_inputs(inputs: Inputs, journal: tricks.Journal) -> None:
    folder = Path(inputs.folder)
    files = sorted(p for p in folder.iterdir() if p.is_file())
    first, last = str(files[0]), str(files[-1])

    def plain() -> int:
        with open(first, "r+b") as handle:
            return handle.write(b"TAMPERED")

    journal.attempt("open", plain)
    journal.attempt("libc", lambda: tricks.libc_write(first, b"TAMPERED", os.O_WRONLY))
    journal.attempt("chmod", lambda: os.chmod(first, 0o666))
    journal.attempt("add", lambda: tricks.libc_write(str(folder / "extra.bin"), PAYLOAD))
    journal.attempt("unlink", lambda: tricks.check(tricks.LIBC.unlink(last.encode()), "unlink"))


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    journal = tricks.Journal()
    if parameters["route"] == "all":
        _escape_all(plan, inputs, journal)
    elif parameters["route"] == "inputs":
        _tamper_with_inputs(inputs, journal)
    else:
        _escape_disarmed(parameters["route"], plan, journal)
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
