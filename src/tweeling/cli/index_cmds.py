"""``tweeling index``: attributes indexed for filters (OGC API CQL2 queryables)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tweeling.cli.common import caller, console, database
from tweeling.services import attributes as service

app = typer.Typer(help="Attributes indexed for fast filters (CQL2 queryables).")


@app.command("add")
def index_add(
    attribute: Annotated[str, typer.Argument(help="attribute name, e.g. b3_h_dak_max")],
    kind: Annotated[str, typer.Option(help="number | text")] = "number",
) -> None:
    """Index an attribute so that filters on it read the index, not every object."""
    db = database()
    with console.status(f"indexing {attribute} ({kind}) over every stored object"):
        ix = service.add_index(db, caller(db), attribute, kind)
    console.print(f"indexed {attribute} as {kind} ({ix})")


@app.command("drop")
def index_drop(attribute: Annotated[str, typer.Argument(help="attribute name")]) -> None:
    """Remove an attribute's index (filters keep working, more slowly)."""
    db = database()
    service.drop_index(db, caller(db), attribute)
    console.print(f"dropped the index on {attribute}")


@app.command("list")
def index_list() -> None:
    """The indexed attributes."""
    table = Table("attribute", "kind")
    for name, kind in service.indexes(database()).items():
        table.add_row(name, kind)
    console.print(table)
