"""What every command shares: the console, the database, progress bars, error display."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
import typer
import typer.exceptions
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from tweeling import settings
from tweeling.errors import TweelingError
from tweeling.services import access
from tweeling.services.access import Principal
from tweeling.services.platform import Database, open_database

console = Console()
err_console = Console(stderr=True)

INTERNAL_ERROR_EXIT = 70


def caller(db: Database, by: str | None = None) -> Principal:
    """Who a command acts as: the person behind ``TWEELING_TOKEN`` when set, else the local
    operator (``operator:<login name>``, or ``--by``). Either way every command goes through
    the policy point and the audit log."""
    token = settings.current().cli.token
    if token:
        return access.token_principal(db, token)
    return access.local_operator(by)


def database(*, require_current: bool = True) -> Database:
    db = open_database()
    if require_current:
        db.require_current()
    return db


@contextmanager
def byte_progress(label: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over bytes read (hidden when the output is not a terminal)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)

        def update(done: int, of: int) -> None:
            bar.update(task, completed=done, total=of)

        yield update


@contextmanager
def count_progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar over a number of things (buildings, objects)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance


def _debugging() -> bool:
    return settings.current().cli.debug


def run_cli(app: Callable[..., object]) -> None:
    """Run the typer app and map every error to one line and an exit code."""
    settings.reset()  # each invocation reads the environment it was started in
    try:
        # Without standalone mode click hands back typer.Exit codes as the return value.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except TweelingError as exc:
        message = escape(exc.message)  # user text in it is not console markup
        err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, typer.Abort):
        err_console.print("aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors (typer ships its own copy of click's exception classes): show and exit.
        if isinstance(exc, (click.ClickException, typer.exceptions.TyperException)):
            show = getattr(exc, "show", None)
            if callable(show):
                show()
                sys.exit(int(getattr(exc, "exit_code", 2)))
        if _debugging():
            traceback.print_exc()
        err_console.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))} "
            "(this is a bug in Tweeling; set TWEELING_DEBUG=1 to see where)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(INTERNAL_ERROR_EXIT)
