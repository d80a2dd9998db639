"""The demo store's progress on the terminal; the work is services/demo_store.py."""

from __future__ import annotations

from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tweeling.cli.common import err_console
from tweeling.services import demo_store
from tweeling.services.demo_store import REFERENCE_APPS as REFERENCE_APPS
from tweeling.services.demo_store import Outcome
from tweeling.services.demo_store import signing_key as signing_key
from tweeling.services.platform import Database


def fill_store(
    db: Database, home: Path, apps: Path, review_file: Path, samples: Path
) -> list[Outcome]:
    """Accredit the reference apps in ``apps`` into the store, with a progress bar; what
    became of each."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("accrediting the reference apps", total=len(REFERENCE_APPS))

        def progress(app_id: str | None) -> None:
            if app_id is None:
                bar.advance(task)
            else:
                description = (
                    f"accrediting {app_id} (automated checks in the sandbox on "
                    "the reference twins: minutes)"
                )
                bar.update(task, description=description)

        def libraries(line: str) -> None:
            err_console.print(f"{line} (once; pip's cache keeps it quick)")

        return demo_store.fill_store(db, home, apps, review_file, samples, progress, libraries)
