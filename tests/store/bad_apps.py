"""Deliberately bad apps for the accreditation's tests (and its benchmark): the misbehaving
fixture app copied as an app of its own that misbehaves by default, or — for the cases that
are about the package or the publisher's own claims — behaves but carries the flaw."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.apps.conftest import MISBEHAVING


def bad_app(folder: Path, behaviour: str) -> Path:
    """The misbehaving fixture app as its own app that misbehaves by default."""
    app = folder / f"bad-{behaviour}"
    shutil.copytree(MISBEHAVING, app, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = app / "tweeling-app.toml"
    text = manifest.read_text().replace('id = "misbehaving"', f'id = "bad-{behaviour}"')
    if behaviour == "wrong-reference":  # behaves, but its own reference case expects 0.75
        cases = app / "tweeling-reference-cases.toml"
        cases.write_text(cases.read_text().replace("value = 0.5", "value = 0.75"))
    elif behaviour == "seeded":  # random, but from a declared seed: deterministic
        text = re.sub(r'default = "none"', 'default = "nondeterministic"', text)
        text = text.replace("\n[[outputs]]", "\n[parameters.schema.properties.seed]\n"
                            'type = "integer"\ndefault = 7\n\n[[outputs]]', 1)  # fmt: skip
        code = app / "misbehaving" / "app.py"
        code.write_text(code.read_text().replace(
            "[random.random() for _ in ids]", '[random.Random(parameters["seed"]).random() for _ in ids]'
        ))  # fmt: skip
    elif behaviour not in ("unregistered-key", "tampered"):  # these behave; their package not
        text = re.sub(r'default = "none"', f'default = "{behaviour}"', text)
    manifest.write_text(text)
    return app
