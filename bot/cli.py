"""`drewburr`: the command line entry (typer)."""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from pathlib import Path

import typer

from bot import cli_addons, cli_bootstrap, cli_chat, cli_ops, cli_provision, logs
from bot import serve as bot_serve
from bot.config import ConfigError, load_settings
from bot.lab_command import app as lab_app

app = typer.Typer(help="drewburr: ChatOps for a Proxmox VE + Ceph + K3s homelab.",
                  no_args_is_help=True, rich_markup_mode=None)
app.add_typer(lab_app, name="lab")
cli_ops.register(app)
cli_addons.register(app)
cli_bootstrap.register(app)
cli_provision.register(app)
cli_chat.register(app)


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


@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the bot: alert webhooks, /healthz, /readyz and /metrics on server.host:port, and the
    remediation loop, and the Slack app when slack.mode is socket or http, until SIGTERM or SIGINT."""
    try:
        settings = load_settings(cli_ops.config_path(ctx))
        logs.setup(settings.log.format, settings.log.level, settings.secrets())
        asyncio.run(bot_serve.serve(settings))
    except ConfigError as exc:
        typer.echo(f"config error:\n{exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # the port is taken, the address is not ours
        typer.echo(f"cannot serve on {settings.server.host}:{settings.server.port}: {exc.strerror or exc}",
                   err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()
