"""`drewburr`: the command line entry (typer)."""

from __future__ import annotations

import typer

from bot.lab_command import app as lab_app

app = typer.Typer(help="drewburr: ChatOps for a Proxmox VE + Ceph + K3s homelab.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(lab_app, name="lab")


def main() -> None:
    app()
