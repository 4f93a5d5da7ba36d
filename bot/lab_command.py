"""`drewburr lab ...`: the one place the product reaches into the lab (a dev tool).

`drewburr lab` alone runs the lab with drewburr pointed at it and a console reading
drewburr's verbs from stdin: typed at a terminal, or piped (`echo status | drewburr lab`).
It stops at `exit` or at the end of input; `drewburr lab up` serves the lab alone until
SIGINT/SIGTERM.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.console import console
from lab.cli import app, prepare, refused_start

__all__ = ["app"]

BANNER = """\
{where}
Type drewburr's verbs: status, plan blade3, whatif blade3, drain blade3 --yes, restore blade3, ops list,
lab fault --dir {dir} power-off blade3, help; exit (or Ctrl-D) stops the lab.
In another terminal: DREWBURR_CONFIG={config} .venv/bin/drewburr status"""


def _piped(prompt: str) -> str:
    """A line of piped input, echoed after the prompt so the transcript reads like a session."""
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    typer.echo(prompt + line.rstrip("\n"))
    return line


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
    if ctx.invoked_subcommand is not None:
        return
    spec = prepare(workdir, scenario, time_scale, port_base)
    # Imported here: bot.cli imports this module, and the whole lab loads only when it runs.
    from bot.cli import app as root
    from lab.background import BackgroundLab

    with refused_start(), BackgroundLab(workdir, spec, time_scale, port_base) as running:
        banner = BANNER.format(where=running.server.describe(), dir=workdir,
                               config=running.config_file.absolute())
        console(root, running.config_file, read=input if sys.stdin.isatty() else _piped, banner=banner)
