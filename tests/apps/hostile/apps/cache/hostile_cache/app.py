"""Changes the shared extracted-package cache so that another app's next run (or its own)
runs this app's code: the victim's module appended to or replaced (open, a descriptor-relative
open, libc), its mode changed, its folder renamed away, a folder made in the cache for a
package not extracted yet, and this app's own files rewritten. All routes run in one go."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    marker = plan["marker"]
    module = plan["victim_module"]  # the victim's app.py in the cache
    package = os.path.dirname(module)  # its Python package folder
    cache = plan["cache"]  # the folder holding every extracted package
    payload = f"\nANSWER = 666  # {marker}: the hostile app's code\n".encode()
    journal = tricks.Journal()

    def append() -> int:
        with open(module, "ab") as handle:
            return handle.write(payload)

    def replace_by_dir_fd() -> int:
        original = Path(module).read_bytes()
        return tricks.dir_fd_write(package, os.path.basename(module), original + payload)

    def new_entry() -> str:
        folder_fd = os.open(cache, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.mkdir(f"{'0' * 63}{marker[0]}", dir_fd=folder_fd)
        finally:
            os.close(folder_fd)
        return "a folder made for a package not extracted yet"

    def own_files() -> int:
        own = Path(__file__).resolve()
        with contextlib.suppress(OSError):
            tricks.libc_write(str(own), own.read_bytes() + payload)
        with open(own, "ab") as handle:
            return handle.write(payload)

    journal.attempt("append", append)
    journal.attempt("dir-fd", replace_by_dir_fd)
    journal.attempt("libc", lambda: tricks.libc_write(module, Path(module).read_bytes() + payload))
    journal.attempt("chmod", lambda: os.chmod(module, 0o666))
    journal.attempt("new-entry", new_entry)
    journal.attempt("own-files", own_files)
    journal.attempt("rename", lambda: os.rename(plan["victim_root"], Path.cwd() / "stolen"))
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
