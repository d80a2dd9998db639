"""A scenario's 3D Tiles written to a directory: tileset.json and tiles/{level}/{x}/{y}.glb.

The tileset is assembled in a hidden directory beside the target and swapped in at the end,
so a failed export leaves any previous tileset as it was and no half-written one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
from sqlalchemy import Connection

from tweeling.errors import InvalidInput
from tweeling.twin.ingest import load_templates
from tweeling.twin.tiles.content import leaf_content
from tweeling.twin.tiles.tiling import build, tileset
from tweeling.twin.twins import Twin
from tweeling.twin.views import View


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out}: exists and is a file; 3D Tiles are written to a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "tileset.json").exists():
        raise InvalidInput(
            f"{out}: directory is not empty and holds no tileset.json; "
            "choose a new or empty directory (an earlier 3D Tiles export is replaced)"
        )


def write_tileset(
    conn: Connection,
    twin: Twin,
    view: View,
    out: Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the scenario's tileset under ``out``; returns the number of objects written."""
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
    try:
        tmp.mkdir()
        tree = build(conn, view, twin.crs)
        written = 0
        if tree is not None:
            templates = load_templates(conn, twin)
            for key, node in tree.leaves.items():
                path = tmp / "tiles" / f"{key}.glb"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(leaf_content(conn, tree, node, templates))
                count = len(node.members) if node.members is not None else 0
                written += count
                if progress:
                    progress(count)
            doc = tileset(tree, twin=twin.name, scenario=view.scenario.name)
            (tmp / "tileset.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        else:
            raise InvalidInput(
                f"scenario {view.scenario.name!r} of twin {twin.name!r} has no objects with "
                "geometry: there is nothing to tile"
            )
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
