"""`drewburr silence ...` and `drewburr automation ...` on the command line, parsed by the one grammar
(`commands.grammar`), so they read exactly as they do in Slack and the console."""

from __future__ import annotations

import getpass
import shlex

import typer

from bot.cli_ops import DryRun, Yes, execute
from commands import dispatch
from commands.grammar import UsageError, parse
from commands.result import REFUSED


def _run(ctx: typer.Context, group: str, words: list[str] | None, dry_run: bool, yes: bool) -> None:
    flags = ["--dry-run"] * dry_run + ["--yes"] * yes
    try:
        req = parse(shlex.join([group, *(words or []), *flags]))
    except UsageError as exc:
        typer.echo(f"usage error: {exc}", err=True)
        raise typer.Exit(REFUSED) from None
    who = f"cli:{getpass.getuser()}"
    if req.verb in dispatch.ACT:
        execute(ctx, lambda c, _: dispatch.ACT[req.verb](c, req, who))
    else:
        execute(ctx, lambda c, _: dispatch.read(c, req))


SILENCE_USAGE = "ALERTNAME|FINGERPRINT DURATION [REASON] | list | expire ID"


def silence(ctx: typer.Context, words: list[str] | None = typer.Argument(
        None, metavar=SILENCE_USAGE, show_default=False), dry_run: bool = DryRun, yes: bool = Yes) -> None:
    """Silence an alert in Alertmanager for DURATION (30m, 2h, 1d); `list` the silences; `expire` one."""
    _run(ctx, "silence", words, dry_run, yes)


def automation(ctx: typer.Context, words: list[str] | None = typer.Argument(
        None, metavar="status | pause [REASON] | resume", show_default=False), dry_run: bool = DryRun,
        yes: bool = Yes) -> None:
    """Pause or resume automatic remediation, or show whether it is paused and what is held back."""
    _run(ctx, "automation", words, dry_run, yes)


def register(app: typer.Typer) -> None:
    for fn in (silence, automation):
        app.command(fn.__name__)(fn)
