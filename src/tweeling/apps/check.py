"""Checking an app folder without running any of its code.

An app is untrusted until accredited, so ``tweeling app check`` reads its files instead of
importing them: the manifest must be valid, and the entry point ``module:function`` must name
a Python file in the folder that defines that function at its top level.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tweeling.apps.manifest import Manifest, load_manifest
from tweeling.errors import InputFileError


@dataclass(frozen=True)
class CheckReport:
    manifest: Manifest
    entry_file: Path | None  # None for a remote app
    parameters: list[str]
    calibrated: list[str]


def _module_file(folder: Path, module: str) -> Path:
    """``a.b`` as ``a/b.py`` or ``a/b/__init__.py``, looked for in the folder and in src/."""
    parts = module.split(".")
    for root in (folder, folder / "src"):
        for candidate in (
            root.joinpath(*parts).with_suffix(".py"),
            root.joinpath(*parts, "__init__.py"),
        ):
            if candidate.is_file():
                return candidate
    raise InputFileError(
        folder, f"entry point module {module!r} not found (looked for {'/'.join(parts)}.py)"
    )


def check_app(folder: Path) -> CheckReport:
    """The app's manifest and entry point, or a clear error naming what is wrong."""
    manifest = load_manifest(folder)
    properties = manifest.parameters.schema_.get("properties") or {}
    calibrated = list(manifest.parameters.calibrated)
    if manifest.entry_point is None:  # a remote app: its code lives with its provider
        return CheckReport(manifest, None, sorted(properties), calibrated)
    module, function = manifest.entry_point.split(":")
    path = _module_file(folder, module)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"does not parse as Python: {exc}") from None
    defined = {
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    if function not in defined:
        raise InputFileError(
            path, f"defines no top-level function {function!r} (the manifest's entry point)"
        )
    return CheckReport(manifest, path, sorted(properties), calibrated)
