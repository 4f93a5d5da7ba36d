"""The lab's command line: `lab up`, `lab fault`, `lab status` (mounted under `drewburr lab`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from lab.scenario import ScenarioError, load_scenario

app = typer.Typer(help="The embedded lab: a simulated PVE + Ceph + K3s homelab.",
                  no_args_is_help=False, add_completion=False)

DirOption = Annotated[Path, typer.Option("--dir", help="Folder for the lab's files.")]


def up(workdir: Path, scenario: Path | None, time_scale: float, port_base: int) -> None:
    """Run the lab in the foreground until SIGINT/SIGTERM."""
    from lab.runner import run_lab

    if time_scale <= 0:
        raise typer.BadParameter("must be > 0", param_hint="--time-scale")
    if not 0 <= port_base <= 65533:
        raise typer.BadParameter("must be 0 (any free port) or 1..65533", param_hint="--port-base")
    try:
        spec = load_scenario(scenario)
    except ScenarioError as exc:
        typer.echo(f"error: bad scenario:\n{exc}", err=True)
        raise typer.Exit(2) from None
    try:
        asyncio.run(run_lab(workdir, spec, time_scale, port_base))
    except OSError as exc:
        typer.echo(f"error: cannot start the lab: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("up")
def up_command(
    workdir: DirOption = Path(".lab"),
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (default: the seed homelab).")] = None,
    time_scale: Annotated[float, typer.Option(help="Lab seconds per real second.")] = 1.0,
    port_base: Annotated[int, typer.Option(
        help="PVE on P, Kubernetes on P+1, metrics on P+2; 0 = free ports.")] = 18006,
) -> None:
    """Start the lab; writes DIR/drewburr.yaml, DIR/kubeconfig, DIR/pve-ca.pem, then DIR/ready."""
    up(workdir, scenario, time_scale, port_base)
