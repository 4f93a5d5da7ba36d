"""`drewburr`: the command line entry (typer)."""

from __future__ import annotations

from pathlib import Path

import typer

from bot import cli_ops
from bot.lab_command import app as lab_app

app = typer.Typer(help="drewburr: ChatOps for a Proxmox VE + Ceph + K3s homelab.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(lab_app, name="lab")
cli_ops.register(app)


@app.callback()
def root(config: Path | None = typer.Option(None, "--config", envvar="DREWBURR_CONFIG",
                                             help="config file (YAML)")) -> None:
    """drewburr: ChatOps for a Proxmox VE + Ceph + K3s homelab."""


def main() -> None:
    app()
