"""A third party's package, installed for one test: real entry points, found by
``importlib.metadata`` on ``sys.path`` exactly as an installed distribution's would be."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def installed_package(
    root: Path, name: str, modules: dict[str, str], entry_points: dict[str, dict[str, str]]
) -> Iterator[None]:
    """Write ``modules`` (module name → source) and a ``<name>-0.1.dist-info`` with
    ``entry_points`` (group → {entry name → "module:attr"}) under ``root``, put ``root`` on
    ``sys.path`` for the duration, then take it all away again."""
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{entry} = {target}" for entry, target in entries.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(root))
        for module in modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
