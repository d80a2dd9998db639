"""``tweeling store``: publish app versions, decide on them, search and read the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from tweeling.cli.common import caller, console, database
from tweeling.errors import InvalidInput
from tweeling.services import federation as federation_service
from tweeling.services import store as service
from tweeling.services.app_development import parse_assignments, public_key_of, read_package
from tweeling.services.platform import default_runtime
from tweeling.services.store import FitReport, Version, filters_from
from tweeling.store.pages import render_markdown

app = typer.Typer(help="The app store: publish, search, read and install listings.")
keys_app = typer.Typer(help="Publishers' registered signing keys.")
app.add_typer(keys_app, name="keys")


def _version_json(version: Version) -> dict[str, Any]:
    return {
        "app": version.app_id,
        "version": version.version,
        "state": version.state.value,
        "publisher": version.publisher or version.manifest.get("publisher"),
        "package_hash": version.content_hash,
        "submitted_by": version.submitted_by,
        "submitted_at": version.submitted_at.isoformat(),
        "page": version.page.model_dump(mode="json"),
    }


@app.command("publish")
def publish_cmd(
    package: Annotated[Path, typer.Argument(help="a signed package (.twapp) or app folder")],
    key: Annotated[
        Path | None, typer.Option(help="sign a folder with this Ed25519 key (PEM) first")
    ] = None,
) -> None:
    """Put a signed app version in the repository as a draft (then: tweeling accredit
    submit APP@VERSION)."""
    if package.is_dir() and key is None:
        raise InvalidInput(f"{package} is a folder: give --key to sign it, or a signed .twapp")
    built = read_package(package, key)
    db = database()
    version = service.publish(db, caller(db), built)
    console.print(
        f"published {version.label} ({version.page.title}), state {version.state.value}; "
        f"package {version.content_hash[:16]}…; submit it for accreditation with tweeling "
        f"accredit submit {version.label}",
        highlight=False,
    )


@app.command("decide")
def decide_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION")],
    state: Annotated[
        str,
        typer.Option(
            help="suspended, approved (reinstated), deprecated, withdrawn, beta (admit more)"
        ),
    ],
    reason: Annotated[str, typer.Option(help="why (kept on record, shown to the publisher)")],
    org: Annotated[
        list[str] | None, typer.Option(help="admit this organisation to the beta (repeatable)")
    ] = None,
) -> None:
    """Move a version along its lifecycle, with a reason on record: the market master
    suspends or reinstates, the publisher deprecates or withdraws. Entering the store goes
    through accreditation (tweeling accredit)."""
    db = database()
    version = service.decide_version(db, caller(db), ref, state, reason, org)
    console.print(f"{version.label} is {version.state.value}", highlight=False)


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="words to find (all must match, as prefixes)")] = "",
    use_case: Annotated[str | None, typer.Option(help="only this use case")] = None,
    publisher: Annotated[str | None, typer.Option(help="only this publisher")] = None,
    price: Annotated[str | None, typer.Option(help="only this price model")] = None,
    data: Annotated[str | None, typer.Option(help="only apps that read this layer")] = None,
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Search the store's listings, best first."""
    filters = filters_from(use_case=use_case, publisher=publisher, price_model=price, data=data)
    db = database()
    results = service.find(db, caller(db), query, filters, limit)
    if as_json:
        doc = {
            "total": results.total,
            "hits": [
                {
                    "app": h.facets.get("app_id"),
                    "version": h.facets.get("version"),
                    "title": h.title,
                    "summary": h.summary,
                    "rank": round(h.rank, 6),
                    "facets": h.facets,
                }
                for h in results.hits
            ],
            "facets": results.facets,
        }
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(
        "app", "version", "title", "use cases", "price", "from", title=f"{results.total} found"
    )
    for hit in results.hits:
        origin = str(hit.facets.get("origin") or "local")
        table.add_row(
            str(hit.facets.get("remote_id") or hit.facets.get("app_id")),
            str(hit.facets.get("version")),
            hit.title,
            ", ".join(hit.facets.get("use_cases", [])),
            str(hit.facets.get("price_model")),
            "here" if origin == "local" else origin,
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ref: Annotated[str, typer.Argument(help="APP or APP@VERSION")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    html: Annotated[bool, typer.Option(help="print the description as sanitised HTML")] = False,
) -> None:
    """An app's product page and the versions you may see, with their decisions."""
    db = database()
    view = service.show(db, caller(db), ref)
    if as_json:
        doc = {
            "app": view.app_id,
            "versions": [
                {**_version_json(v), "decisions": view.decisions[v.version]} for v in view.versions
            ],
        }
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    current = view.current
    page = current.page
    console.print(f"[bold]{page.title}[/bold] — {current.label} ({current.state.value})")
    console.print(page.summary, highlight=False)
    if html:
        typer.echo(render_markdown(page.description))
    price = page.price
    amount = f" € {price.amount_eur:,.2f}{' per ' + price.per if price.per else ''}"
    console.print(
        f"price {price.model}{amount if price.amount_eur is not None else ''} · licence "
        f"{current.manifest.get('licence')} · publisher {current.publisher or '-'}",
        highlight=False,
    )
    for version in view.versions:
        console.print(f"  {version.version:<12} {version.state.value}", highlight=False)
        for step in view.decisions[version.version]:
            console.print(
                f"      {step['at'][:19]} {step['from'] or '-'} → {step['to']} by {step['by']}: "
                f"{step['reason']}",
                highlight=False,
            )


_COLOURS = {"green": "green", "amber": "yellow", "red": "red"}
# Exit status of `store fit` when a requirement is red: the app will not run on this twin.
NOT_FIT = 4


def _print_report(report: FitReport) -> None:
    colour = _COLOURS[report.verdict]
    console.print(
        f"[bold]{report.app_id} {report.version} on {report.twin}:[/bold] "
        f"[{colour}]{report.verdict}[/{colour}]"
    )
    table = Table("", "requirement", "measured", "required", "what it means / how to fix")
    for check in report.checks:
        mark = _COLOURS[check.status]
        advice = " — ".join(part for part in (check.consequence, check.fix) if part)
        table.add_row(
            f"[{mark}]●[/{mark}]", check.requirement, check.measured, check.required, advice
        )
    console.print(table)


@app.command("fit")
def fit_cmd(
    ref: Annotated[str, typer.Argument(help="APP or APP@VERSION")],
    twin: Annotated[str, typer.Option(help="the twin to check against")],
    scenario: Annotated[str, typer.Option(help="scenario of the twin")] = "current",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Will it run here? Each requirement green, amber or red (exit 4 when any is red)."""
    db = database()
    report = service.fit(db, caller(db), ref, twin, scenario)
    if as_json:
        typer.echo(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_report(report)
    if report.red:
        raise typer.Exit(NOT_FIT)


@app.command("install")
def install_cmd(
    ref: Annotated[str, typer.Argument(help="APP or APP@VERSION")],
    twin: Annotated[str, typer.Option(help="the twin to install it in")],
    param: Annotated[
        list[str] | None, typer.Option(help="calibrated parameter NAME=VALUE (repeatable)")
    ] = None,
    override: Annotated[
        str | None, typer.Option(help="install despite a red fit report, for this reason")
    ] = None,
) -> None:
    """Fit report, a test run with the calibration on the twin's data, then installation."""
    db = database()
    runtime = default_runtime(db)
    try:
        done = service.install(
            runtime, caller(db), ref, twin, parse_assignments(param or []), override=override
        )
    finally:
        runtime.executor.close()
    _print_report(done.report)
    for warning in done.warnings:
        console.print(f"[yellow]{warning}[/yellow]", highlight=False)
    installed = done.installation
    console.print(
        f"installed {installed.app_id} {installed.version} in {installed.twin} "
        f"(test run {done.validation.run_id}: {done.validation.status})",
        highlight=False,
    )


@app.command("review")
def review_cmd(
    ref: Annotated[str, typer.Argument(help="APP@VERSION your organisation used")],
    rating: Annotated[int, typer.Option(help="1 to 5 stars")],
    text: Annotated[str, typer.Option(help="what you found")],
) -> None:
    """Rate and review a version your organisation has run (its run records show it)."""
    db = database()
    written = service.review(db, caller(db), ref, rating, text)
    console.print(f"review {written.id} of {ref}: {written.rating}/5", highlight=False)


@app.command("reviews")
def reviews_cmd(
    ref: Annotated[str, typer.Argument(help="APP or APP@VERSION")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The reviews of an app's versions, with the publisher's answers."""
    db = database()
    found, mean = service.reviews_of(db, caller(db), ref)
    if as_json:
        doc = {"mean_rating": mean, "reviews": [r.as_json() for r in found]}
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    console.print(f"{len(found)} reviews, mean {mean:.1f}/5" if found else "no reviews yet")
    for r in found:
        console.print(
            f"[{r.id}] {r.rating}/5 {r.organisation} on {r.version}: {r.text}", highlight=False
        )
        if r.response:
            console.print(f"      publisher: {r.response}", highlight=False)


@app.command("respond")
def respond_cmd(
    review_id: Annotated[int, typer.Argument(help="the review's number")],
    text: Annotated[str, typer.Option(help="the publisher's answer")],
) -> None:
    """Answer a review of your app, publicly."""
    db = database()
    service.respond(db, caller(db), review_id, text)
    console.print(f"answered review {review_id}")


@app.command("report")
def report_cmd(
    review_id: Annotated[int, typer.Argument(help="the review's number")],
    reason: Annotated[str, typer.Option(help="what is wrong with it")],
) -> None:
    """Report an abusive review to the market master."""
    db = database()
    report_id = service.report_abuse(db, caller(db), review_id, reason)
    console.print(f"reported as {report_id}; the market master will judge it")


@app.command("resolve")
def resolve_cmd(
    report_id: Annotated[int, typer.Argument(help="the abuse report's number")],
    reason: Annotated[str, typer.Option(help="the judgement, kept on record")],
    hide: Annotated[bool, typer.Option("--hide/--keep", help="hide the review or keep it")],
) -> None:
    """The market master's judgement on a reported review."""
    db = database()
    service.resolve_abuse(db, caller(db), report_id, hide, reason)
    console.print(f"report {report_id}: review {'hidden' if hide else 'kept'}")


@app.command("harvest")
def harvest_cmd(
    url: Annotated[
        str | None,
        typer.Argument(help="another store's OGC API - Records URL (…/records)"),
    ] = None,
    every: Annotated[int, typer.Option(help="harvest again every this many seconds")] = 3600,
    due: Annotated[bool, typer.Option("--due", help="harvest every source that is due")] = False,
) -> None:
    """Show another store's listings here, with their origin (acquired at their home)."""
    db = database()
    if due:
        for done in federation_service.harvest_due(db):
            console.print(f"{done.url}: {done.records} records", highlight=False)
        return
    if url is None:
        raise InvalidInput("give the catalogue's URL, or --due")
    done = federation_service.harvest(db, caller(db), url, every)
    console.print(
        f"harvested {done.records} records from {done.url}; again every {every} s",
        highlight=False,
    )


@app.command("notices")
def notices_cmd() -> None:
    """What your organisation has been told about the apps it installed."""
    db = database()
    for notice in service.notices(db, caller(db)):
        console.print(f"{notice['created_at'][:19]}  {notice['message']}", highlight=False)


@keys_app.command("add")
def keys_add_cmd(
    public_key: Annotated[
        str, typer.Argument(help="the public key (hex, as app keygen prints it) or a key PEM")
    ],
    label: Annotated[str, typer.Option(help="what the key is for")] = "signing key",
    org: Annotated[str | None, typer.Option(help="organisation (default: your own)")] = None,
) -> None:
    """Register a signing key as your organisation's: only packages signed with a registered
    key pass accreditation's integrity check."""
    path = Path(public_key)
    if path.is_file():
        public_key = public_key_of(path)
    db = database()
    key = service.register_key(db, caller(db), public_key, label, org)
    console.print(f"registered {key}", highlight=False)


@keys_app.command("revoke")
def keys_revoke_cmd(
    public_key: Annotated[str, typer.Argument(help="the public key (hex)")],
    org: Annotated[str | None, typer.Option(help="organisation (default: your own)")] = None,
) -> None:
    """Revoke a registered key: packages it signs no longer pass the integrity check."""
    db = database()
    service.revoke_key(db, caller(db), public_key, org)
    console.print(f"revoked {public_key}", highlight=False)


@keys_app.command("list")
def keys_list_cmd(
    org: Annotated[str | None, typer.Option(help="organisation (default: your own)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The registered keys, revoked ones included."""
    db = database()
    found = service.list_keys(db, caller(db), org)
    if as_json:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("public key", "label", "registered", "revoked")
    for k in found:
        table.add_row(k["public_key"], k["label"], k["registered_at"], k["revoked_at"] or "")
    console.print(table)
