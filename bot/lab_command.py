"""`drewburr lab ...`: the one place the product reaches into the lab (a dev tool).

`drewburr lab` alone runs the lab with drewburr pointed at it and a console on the
terminal; without a terminal it serves the lab until SIGINT/SIGTERM.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.console import console
from lab.cli import app, prepare, refused_start, up

__all__ = ["app"]

BANNER = """\
The lab is up: PVE {pve}, Kubernetes on port {k8s}; drewburr's config is {config}.
Type drewburr's verbs: status, plan blade3, drain blade3 --yes, restore blade3, ops list,
lab fault --dir {dir} power-off blade3, help; exit (or Ctrl-D) stops the lab."""


@app.callback(invoke_without_command=True)
def lab_main(
    ctx: typer.Context,
    workdir: Annotated[Path, typer.Option("--dir", help="Folder for the lab's files.")] = Path(".lab"),
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (default: the seed homelab).")] = None,
    time_scale: Annotated[float, typer.Option(help="Lab seconds per real second.")] = 1.0,
    port_base: Annotated[int, typer.Option(help="PVE on P, Kubernetes on P+1, metrics on P+2.")] = 18006,
) -> None:
    """The embedded lab. Alone: the lab, drewburr pointed at it, and a console."""
    if ctx.invoked_subcommand is not None:
        return
    if not sys.stdin.isatty():
        up(workdir, scenario, time_scale, port_base)
        return
    spec = prepare(workdir, scenario, time_scale, port_base)
    # Imported here: bot.cli imports this module, and the whole lab loads only when it runs.
    from bot.cli import app as root
    from lab.background import BackgroundLab

    with refused_start(), BackgroundLab(workdir, spec, time_scale, port_base) as running:
        console(root, running.config_file, banner=BANNER.format(
            pve=running.pve_url, k8s=running.server.ports.k8s, config=running.config_file,
            dir=workdir))
