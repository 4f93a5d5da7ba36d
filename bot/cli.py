"""`drewburr`: the command line entry (typer)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import typer

from bot import cli_ops
from bot.lab_command import app as lab_app

app = typer.Typer(help="drewburr: ChatOps for a Proxmox VE + Ceph + K3s homelab.",
                  no_args_is_help=True, rich_markup_mode=None)
app.add_typer(lab_app, name="lab")
cli_ops.register(app)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"drewburr {version('drewburr')}")
        raise typer.Exit()


@app.callback()
def root(config: Path | None = typer.Option(None, "--config", envvar="DREWBURR_CONFIG", metavar="FILE",
                                             help="config file (YAML); default $DREWBURR_CONFIG"),
         show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                           help="print the version and exit")) -> None:
    """drewburr: ChatOps for a Proxmox VE + Ceph + K3s homelab."""


def main() -> None:
    app()
