"""``tweeling accredit``: the accreditation of store apps — the criteria framework and the
automated intake checks (scoring by accreditors and the public report to come)."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from tweeling.apps.executors import executor_from_settings
from tweeling.apps.runs import Runtime
from tweeling.cli.common import caller, console, database
from tweeling.cli.demo import samples_dir
from tweeling.errors import InvalidInput
from tweeling.services import accreditation as service
from tweeling.settings import StorageSettings
from tweeling.store.accreditation.criteria import framework

app = typer.Typer(help="Accreditation: the criteria apps are assessed on.")


@app.command("criteria")
def criteria_cmd(
    version: Annotated[str | None, typer.Option(help="framework version (default newest)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The criteria framework: per dimension, each question, its norm and where it comes from."""
    chosen = framework(version)
    if as_json:
        typer.echo(orjson.dumps(chosen.model_dump(), option=orjson.OPT_INDENT_2).decode())
        return
    console.print(f"[bold]{chosen.title}[/bold], version {chosen.version}")
    for dimension, items in chosen.by_dimension().items():
        table = Table("id", "question", "norm", "builds on", title=dimension, title_justify="left")
        for c in items:
            source = chosen.sources[c.source].name
            check = f" · automated: {c.check}" if c.check else ""
            table.add_row(c.id, c.question, f"{c.norm}/5", f"{source}, {c.reference}{check}")
        console.print(table)


_MARKS = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "[yellow]not run[/yellow]"}


@app.command("checks")
def checks_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION in the repository")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Run the automated intake checks in the sandbox on the reference twin (exit 4 when one
    fails); the round goes on record and the version to state 'checks'."""
    samples = samples_dir()
    if samples is None:
        raise InvalidInput("the reference data (../shared/data or $TWEELING_SAMPLES) is not here")
    db = database()
    runtime = Runtime(db, executor_from_settings(None), StorageSettings().home)
    try:
        done = service.run_checks(runtime, caller(db), ref, samples)
    finally:
        runtime.executor.close()
    if as_json:
        typer.echo(orjson.dumps(done.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        console.print(f"[bold]{ref}[/bold], automated checks round {done.round}")
        table = Table("check", "verdict", "why")
        for result in done.results:
            table.add_row(result.check, _MARKS[result.passed], result.summary)
        console.print(table)
    if done.failed:
        raise typer.Exit(4)


@app.command("assign")
def assign_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION")],
    accreditor: Annotated[list[str], typer.Option(help="accreditor organisation (repeatable)")],
) -> None:
    """Assign accreditors without a conflict of interest; the version goes under review."""
    db = database()
    names = service.assign(db, caller(db), ref, accreditor)
    console.print(f"{ref} assigned to {', '.join(names)}", highlight=False)


@app.command("score")
def score_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION")],
    criterion: Annotated[str, typer.Option(help="criterion id, e.g. TEC-2")],
    score: Annotated[int, typer.Option(help="0 to 5")],
    evidence: Annotated[str, typer.Option(help="what the score rests on")],
) -> None:
    """An assigned accreditor's score on one criterion, with written evidence."""
    db = database()
    service.score(db, caller(db), ref, criterion, score, evidence)
    console.print(f"{ref} {criterion}: {score}/5", highlight=False)


@app.command("decide")
def decide_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION")],
    outcome: Annotated[str, typer.Option(help="accredited or rejected")],
    reason: Annotated[str, typer.Option(help="why, on the public record")],
) -> None:
    """The market master's decision; accredited only when the report allows it."""
    db = database()
    done = service.decide(db, caller(db), ref, outcome, reason)
    console.print(f"{ref}: {done}", highlight=False)


@app.command("report")
def report_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The public accreditation report: checks, scores, verdict and trust score."""
    db = database()
    doc = service.report(db, ref)
    if as_json:
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    trust = doc["trust"]
    console.print(
        f"[bold]{doc['app']} {doc['version']}[/bold] ({doc['state']}), framework "
        f"{doc['framework']['version']}: trust score {trust['trust']} (reliability "
        f"{trust['reliability']}, traceability {trust['traceability']})"
    )
    table = Table("criterion", "score", "norm", "builds on")
    for c in doc["criteria"]:
        shown = "-" if c["score"] is None else f"{c['score']:g}"
        mark = "green" if c["meets_norm"] else "red"
        table.add_row(c["id"], f"[{mark}]{shown}[/{mark}]", str(c["norm"]), c["source"])
    console.print(table)
    for line in doc["verdict"]["reasons"] or ["accreditable"]:
        console.print(line, highlight=False)
