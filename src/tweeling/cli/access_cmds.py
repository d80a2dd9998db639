"""``tweeling org|user|token|audit``: organisations, people, API tokens and the audit log.

These commands run on the platform's own machine with direct access to its database, so they
act as the local operator, recorded in the audit log as ``operator:<login name>``.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from tweeling.cli.common import caller, console, database, err_console
from tweeling.errors import InvalidInput
from tweeling.services import access
from tweeling.services import organisations as orgs
from tweeling.services import twins as service

org_app = typer.Typer(help="Organisations: municipalities, providers, accreditors, …")
user_app = typer.Typer(help="People and their roles in organisations.")
token_app = typer.Typer(help="API tokens for scripts (Authorization: Bearer …).")
audit_app = typer.Typer(help="The tamper-evident audit log.")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="organisation name, e.g. 'Gemeente Delft'")],
    kind: Annotated[str, typer.Option(help=" | ".join(k.value for k in access.OrgKind))],
    mfa_required: Annotated[
        bool, typer.Option("--mfa-required", help="members must use two-step verification")
    ] = False,
) -> None:
    """Create an organisation."""
    db = database()
    org = orgs.create_organisation(db, caller(db), name, kind, mfa_required)
    console.print(f"created organisation [bold]{org.name}[/bold] ({org.kind.value})")


@org_app.command("list")
def org_list() -> None:
    """List organisations."""
    db = database()
    table = Table("organisation", "kind", "two-step verification")
    for org in orgs.visible_organisations(db, caller(db)):
        table.add_row(org["name"], org["kind"], "required" if org["mfa_required"] else "optional")
    console.print(table)


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="e-mail address (the login name)")],
    org: Annotated[str, typer.Option(help="organisation")],
    role: Annotated[str, typer.Option(help=" | ".join(r.value for r in access.Role))],
) -> None:
    """Add a person to an organisation with a role (created if new).

    A new person's password is read from standard input when one is piped in; otherwise one
    is generated and shown once.
    """
    password = None
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n") or None
    db = database()
    generated = orgs.add_member(db, caller(db), org, email, role, password)
    console.print(f"{email} is now {role} in {org}")
    if generated:
        console.print("generated password (shown once, store it now):")
        typer.echo(generated)


_DURATION = re.compile(r"^(\d+)([dhm])$")


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise InvalidInput(f"bad duration {text!r}: use e.g. 90d, 12h or 30m")
    n, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="e-mail of the person the token acts for")],
    org: Annotated[str, typer.Option(help="organisation the token acts in")],
    scope: Annotated[
        list[str] | None, typer.Option(help="e.g. twin:read (repeatable; none: all of the roles)")
    ] = None,
    expires: Annotated[str, typer.Option(help="lifetime, e.g. 90d, 12h, 30m")] = "90d",
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    db = database()
    issued = orgs.create_token(db, caller(db), org, user, list(scope or []), _duration(expires))
    console.print(
        f"token {issued.id} for {user} in {org}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    typer.echo(issued.secret)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="token id")]) -> None:
    """Revoke an API token at once."""
    db = database()
    orgs.revoke_token(db, caller(db), token_id)
    console.print(f"token {token_id} revoked")


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        Path | None,
        typer.Option(help="a signed head from 'tweeling audit anchor' that the log must contain"),
    ] = None,
    public_key: Annotated[
        list[str] | None,
        typer.Option(
            "--public-key",
            help="trusted audit public key, hex (repeatable; default: the audit key file's)",
        ),
    ] = None,
) -> None:
    """Check the chain, every signed checkpoint, that no checkpoint is missing, and (with
    --anchor) that the log still holds the operator's signed head.

    The trust anchor comes from outside the database. Exit 0: intact; 1: damaged (the first
    bad entry and why); 2: a malformed --anchor or --public-key; 5: no trust anchor found.
    """
    db = database()
    result = orgs.verify_audit(db, caller(db), access.audit_trust(anchor, list(public_key or [])))
    if result.ok:
        anchored = f"; contains the signed head of {result.anchored}" if result.anchored else ""
        console.print(
            f"audit log intact: {result.entries} entries, {result.checkpoints} signed "
            f"checkpoints, {result.unsigned_tail} entries after the newest{anchored}"
        )
        return
    err_console.print(f"[red]audit log damaged at entry {result.first_bad}:[/red] {result.problem}")
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write the head to")],
) -> None:
    """Sign the log's head now and write it (count, last hash, time, signature, public key)
    to a file; keep it away from this machine and check later with 'audit verify --anchor'."""
    db = database()
    head = orgs.checkpoint_audit(db, caller(db))
    if head is None:
        raise InvalidInput("the audit log is empty: there is no head to sign yet")
    try:
        output.write_bytes(head.to_json())
    except OSError as exc:
        raise InvalidInput(f"--output {output}: cannot write it ({exc.strerror})") from exc
    console.print(f"wrote the signed head of {head.seq} entries to {output}")


@audit_app.command("export")
def audit_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default: stdout)")
    ] = None,
) -> None:
    """Write every entry as JSON lines, oldest first."""
    db = database()
    lines = orgs.export_audit(db, caller(db))
    if output is None:
        for line in lines:
            sys.stdout.buffer.write(line)
        return
    with output.open("wb") as handle:
        for line in lines:
            handle.write(line)
    console.print(f"wrote the audit log to {output}")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the newest entry now with the audit key (also done automatically: every
    TWEELING_AUDIT_CHECKPOINT_ENTRIES entries and TWEELING_AUDIT_CHECKPOINT_MINUTES)."""
    db = database()
    signed = orgs.checkpoint_audit(db, caller(db))
    console.print(
        f"signed checkpoint at entry {signed.seq}" if signed else "the audit log is empty"
    )


def share(
    twin: Annotated[str, typer.Argument(help="twin to share")],
    with_org: Annotated[
        str | None, typer.Option("--with", help="organisation to share with")
    ] = None,
    purpose: Annotated[
        list[str] | None, typer.Option(help="allowed purpose (repeatable; none: any purpose)")
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="share with everyone")] = False,
) -> None:
    """Share a twin (read-only) with an organisation, for named purposes, or make it public."""
    db = database()
    service.share_twin(
        db, caller(db), twin, with_org=with_org, purposes=list(purpose or []), public=public
    )
    target = "everyone" if public else with_org
    purposes = f" for {', '.join(purpose)}" if purpose else " for any purpose"
    console.print(f"twin {twin} is shared with {target}{purposes}")


def usage(
    twin: Annotated[str, typer.Option(help="twin whose data use to show")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Who used the twin's datasets, when and for what (for the twin's owner)."""
    db = database()
    rows = service.usage(db, caller(db), twin)
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("when", "who", "organisation", "dataset", "purpose", "what")
    for r in rows:
        table.add_row(
            r["at"],
            r["user"],
            r["organisation"] or "",
            str(r["dataset"]),
            r["purpose"] or "",
            r["action"],
        )
    console.print(table)
