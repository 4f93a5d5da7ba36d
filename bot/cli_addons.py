"""`addons install NAME|all` and `addons status` on the command line (commands/addons.py)."""

from __future__ import annotations

import typer

from bot.cli_ops import DryRun, Json, Yes, _confirm, execute
from commands import addons as addons_verb

addons_app = typer.Typer(help="The cluster's addons through K3s' helm-controller: install, status.",
                         no_args_is_help=True, rich_markup_mode=None)


@addons_app.command("install")
def install(ctx: typer.Context,
            name: str = typer.Argument(..., metavar="metallb|cert-manager|traefik|kube-prometheus-stack|all",
                                       help="one addon, or all of them in that order"),
            dry_run: bool = DryRun, yes: bool = Yes) -> None:
    """Install (or bring in line with the config) an addon and its objects; a re-run changes nothing."""
    execute(ctx, lambda c, p: addons_verb.install(c, name, dry_run=dry_run, yes=yes, confirm=_confirm,
                                                   listener=p))


@addons_app.command("status")
def status(ctx: typer.Context, as_json: bool = Json) -> None:
    """Each addon's chart version, install Job outcome and readiness."""
    execute(ctx, lambda c, _: addons_verb.status(c), as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(addons_app, name="addons")
