"""`drewburr lab ...`: the one place the product reaches into the lab (a dev tool).

`drewburr lab` alone runs the lab with drewburr pointed at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lab.cli import app, up

__all__ = ["app"]


@app.callback(invoke_without_command=True)
def lab_main(
    ctx: typer.Context,
    workdir: Annotated[Path, typer.Option("--dir", help="Folder for the lab's files.")] = Path(".lab"),
    time_scale: Annotated[float, typer.Option(help="Lab seconds per real second.")] = 1.0,
) -> None:
    """The embedded lab. Alone: run the lab (drewburr's bot and console join it as they land)."""
    if ctx.invoked_subcommand is None:
        typer.echo(f"lab: starting in {workdir}; config for drewburr in {workdir}/drewburr.yaml")
        up(workdir, None, time_scale, 18006)
