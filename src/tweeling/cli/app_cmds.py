"""``tweeling app``: app packages — checked here; scaffolding, runs and installs to come."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tweeling.apps.check import check_app
from tweeling.cli.common import console

app = typer.Typer(help="Digital-twin apps: check an app folder (more to come).")


@app.command("check")
def check_cmd(
    folder: Annotated[Path, typer.Argument(help="the app's folder (with tweeling-app.toml)")],
) -> None:
    """Validate an app without running it: its manifest and its entry point."""
    report = check_app(folder)
    m = report.manifest
    console.print(f"[green]ok[/green] {m.id} {m.version} by {m.publisher} ({m.licence})")
    console.print(f"  use cases   {', '.join(u.value for u in m.use_cases)}")
    console.print(f"  entry       {m.entry_point} ({report.entry_file})")
    layers = ", ".join(i.layer for i in m.inputs.layers) or "none"
    console.print(f"  inputs      {layers}")
    console.print(f"  outputs     {', '.join(o.name for o in m.outputs)}")
    calibrated = f" (calibrated: {', '.join(report.calibrated)})" if report.calibrated else ""
    console.print(f"  parameters  {', '.join(report.parameters) or 'none'}{calibrated}")
