"""`drewburr lab ...`: the one place the product reaches into the lab (a dev tool).

`drewburr lab` alone runs the lab, the real bot (`drewburr serve`, in Socket Mode against
the lab's Slack twin, its log in DIR/serve.log) and a console that is a person in the twin's
workspace (`bot/console.py`): typed at a terminal, or piped (`echo status | drewburr lab`).
It stops at `exit` or at the end of input; `drewburr lab up` serves the lab alone until
SIGINT/SIGTERM.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.console import Console
from bot.console_view import Twin
from bot.lab_serve import serving
from lab.cli import app, prepare, refused_start

__all__ = ["app"]
LAB_EXTRA = ("cryptography", "kubernetes_validate")  # the `lab` extra in pyproject.toml

BANNER = """\
{where}
drewburr serves the lab's Slack (#homelab-ops) in Socket Mode; its log: {log}
You are alice (admin) in #homelab-ops: type /drewburr's verbs (status, plan blade3, whatif blade3,
drain blade3, ops list, help); a number presses that button; `as oscar` (operator) or `as rita`
(reader); lab fault power-off blade3; exit (or Ctrl-D) stops the lab.
In another terminal: DREWBURR_CONFIG={config} .venv/bin/drewburr status"""


def _piped(prompt: str) -> str:
    """A line of piped input, shown after the prompt so the transcript reads like a session."""
    typer.echo(prompt, nl=False)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    typer.echo(line.rstrip("\n"))
    return line


def _lab_extra_installed() -> None:
    """The lab's own dependencies are an extra (the image leaves them out): say so, not a traceback."""
    missing = [name for name in LAB_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        typer.echo(f"error: the lab needs drewburr's `lab` extra ({', '.join(missing)} missing): "
                   "pip install 'drewburr[lab]'", err=True)
        raise typer.Exit(2)


@app.callback(invoke_without_command=True)
def lab_main(
    ctx: typer.Context,
    workdir: Annotated[Path, typer.Option("--dir", help="Folder for the lab's files.")] = Path(".lab"),
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (default: the seed homelab).")] = None,
    time_scale: Annotated[float, typer.Option(help="Lab seconds per real second.")] = 1.0,
    port_base: Annotated[int, typer.Option(
        help="PVE on P, Kubernetes on P+1, metrics on P+2; 0 = free ports.")] = 18006,
) -> None:
    """The embedded lab. Alone: the lab, drewburr pointed at it, and a console."""
    if ctx.invoked_subcommand in (None, "up"):
        _lab_extra_installed()
    if ctx.invoked_subcommand is not None:
        return
    spec = prepare(workdir, scenario, time_scale, port_base)
    # Imported here: bot.cli imports this module, and the whole lab loads only when it runs.
    from bot.cli import app as root
    from lab.background import BackgroundLab

    with refused_start(), BackgroundLab(workdir, spec, time_scale, port_base) as running, \
            serving(running, workdir) as twin_url:
        typer.echo(BANNER.format(where=running.server.describe(), log=workdir / "serve.log",
                                 config=running.config_file.absolute()))
        channel = next(iter(running.lab.slack.workspace.channels))
        piped = not sys.stdin.isatty()
        Console(root, running.config_file, workdir, Twin(twin_url, channel), piped).run(
            _piped if piped else input)
