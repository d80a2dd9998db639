"""``tweeling accredit``: the accreditation of store apps, the store's gate — submit, the
automated checks (and spot checks later), beta, assignment, scores, decision and the public
report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from tweeling.cli.common import caller, console, database
from tweeling.cli.demo import samples_dir
from tweeling.errors import InvalidInput
from tweeling.services import accreditation as service
from tweeling.services.accreditation import framework, parse_review
from tweeling.services.platform import default_runtime

app = typer.Typer(help="Accreditation: how an app version enters the store.")


@app.command("submit")
def submit_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION, published as a draft")],
    note: Annotated[str, typer.Option(help="what changed, for the accreditors")] = "",
) -> None:
    """Submit a draft version for accreditation (the publisher's step)."""
    db = database()
    version = service.submit(db, caller(db), ref, note)
    console.print(f"{version.label} is {version.state.value}", highlight=False)


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


_MARKS = {
    True: "[green]pass[/green]",
    False: "[red]FAIL[/red]",
    None: "[yellow]not judged[/yellow]",
}


@app.command("checks")
def checks_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION in the repository")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Run the automated checks in the sandbox on the reference twins (exit 4 when one
    fails). On the way in the version moves to 'checks'; on an accredited version this is
    a spot check, and a failure suspends it."""
    samples = samples_dir()
    if samples is None:
        raise InvalidInput("the reference data ($TWEELING_SAMPLES) holds no delft.city.json")
    db = database()
    runtime = default_runtime(db)
    try:
        done = service.run_checks(runtime, caller(db), ref, samples)
    finally:
        runtime.executor.close()
    if as_json:
        typer.echo(orjson.dumps(done.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        console.print(f"[bold]{ref}[/bold], automated checks round {done.round} ({done.kind})")
        table = Table("check", "verdict", "why")
        for result in done.results:
            table.add_row(result.check, _MARKS[result.passed], result.summary)
        console.print(table)
    if done.failed:
        raise typer.Exit(4)


@app.command("queue")
def queue_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The versions on their way in that you have a part in, and what comes next for each."""
    db = database()
    found = service.queue(db, caller(db))
    if as_json:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("version", "state", "checks", "accreditors", "scored", "next")
    for item in found:
        checks = item["checks"]
        shown = "-" if checks is None else (
            f"round {checks['round']}: " + (", ".join(checks["failed"]) or "passed")
        )  # fmt: skip
        table.add_row(f"{item['app']}@{item['version']}", item["state"], shown,
                      ", ".join(item["accreditors"]), item["scored"], item["next"])  # fmt: skip
    console.print(table)
    if not found:
        console.print("nothing waiting")


@app.command("beta")
def beta_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION that passed its checks")],
    org: Annotated[list[str], typer.Option(help="organisation admitted (repeatable)")],
    reason: Annotated[str, typer.Option(help="why, on record")],
) -> None:
    """Open a beta before the review: the named organisations may install and try it."""
    db = database()
    version = service.open_beta(db, caller(db), ref, org, reason)
    console.print(f"{version.label} is {version.state.value}", highlight=False)


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
    criterion: Annotated[str | None, typer.Option(help="criterion id, e.g. TEC-2")] = None,
    score: Annotated[int | None, typer.Option(help="0 to 5")] = None,
    evidence: Annotated[str | None, typer.Option(help="what the score rests on")] = None,
    file: Annotated[
        Path | None, typer.Option(help="a review file: every score with its evidence (TOML)")
    ] = None,
) -> None:
    """An assigned accreditor's score on one criterion with written evidence, or a whole
    review from a file (all recorded or none)."""
    db = database()
    if file is not None:
        if criterion or score is not None or evidence:
            raise InvalidInput("give --file, or --criterion, --score and --evidence; not both")
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{file}: cannot be read: {exc}") from None
        review = parse_review(text, str(file))
        count = service.score_many(
            db, caller(db), ref, list(review.scores.values()), review.framework
        )
        console.print(f"{ref}: {count} criteria scored", highlight=False)
        return
    if criterion is None or score is None or evidence is None:
        raise InvalidInput("give --criterion, --score and --evidence (or --file)")
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
    doc = service.public_report(db, caller(db), ref)
    if as_json:
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    trust = doc["trust"]
    if doc["previous"]:
        earlier = doc["previous"]
        console.print(
            f"follows {earlier['version']} ({earlier['state']}, trust {earlier['trust']}); "
            f"changed: {', '.join(earlier['changed']) or 'nothing in the manifest'}",
            highlight=False,
        )
    for done in doc["rounds"]:
        outcome = "passed" if done["passed"] else f"failed {', '.join(done['failed'])}"
        console.print(f"round {done['round']} ({done['kind']}, {done['run_at']}): {outcome}",
                      highlight=False)  # fmt: skip
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
