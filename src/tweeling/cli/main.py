"""``tweeling``: the command line of the platform."""

from __future__ import annotations

import typer

from tweeling.cli import (
    access_cmds,
    accredit_cmds,
    app_cmds,
    demo,
    index_cmds,
    scenario_cmds,
    store_cmds,
    twin_cmds,
)
from tweeling.cli.common import run_cli

app = typer.Typer(
    help="Tweeling — urban digital twins with an accredited app store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init")(twin_cmds.init)
app.command("ingest")(twin_cmds.ingest_cmd)
app.command("export")(twin_cmds.export_cmd)
app.command("twins")(twin_cmds.twins_cmd)
app.command("datasets")(twin_cmds.datasets_cmd)
app.command("synth")(twin_cmds.synth_cmd)
app.command("demo")(demo.demo)
app.command("serve")(twin_cmds.serve_cmd)
app.command("share")(access_cmds.share)
app.command("usage")(access_cmds.usage)
app.add_typer(scenario_cmds.app, name="scenario")
app.add_typer(access_cmds.org_app, name="org")
app.add_typer(access_cmds.user_app, name="user")
app.add_typer(access_cmds.token_app, name="token")
app.add_typer(access_cmds.audit_app, name="audit")
app.add_typer(index_cmds.app, name="index")
app.add_typer(app_cmds.app, name="app")
app.add_typer(app_cmds.run_app, name="run")
app.add_typer(app_cmds.recipe_app, name="recipe")
app.add_typer(store_cmds.app, name="store")
app.add_typer(accredit_cmds.app, name="accredit")


def main() -> None:
    run_cli(app)


if __name__ == "__main__":
    main()
