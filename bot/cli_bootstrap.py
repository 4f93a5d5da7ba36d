"""`drewburr bootstrap` on the command line (the same verb as `/drewburr bootstrap` in Slack)."""

from __future__ import annotations

import typer

from bot.cli_ops import DryRun, Yes, _confirm, execute
from bot.output import Progress
from commands import bootstrap as bootstrap_verb
from commands.result import Result
from infra.operations.context import Context


def bootstrap(ctx: typer.Context,
              servers: int | None = typer.Option(None, "--servers", min=1, metavar="N",
                                                 help="K3s servers, on distinct blades (default: "
                                                      "bootstrap.servers, 3)"),
              agents: int | None = typer.Option(None, "--agents", min=0, metavar="N",
                                                help="K3s agents (default: bootstrap.agents, 0)"),
              dry_run: bool = DryRun, yes: bool = Yes) -> None:
    """A new HA K3s cluster with embedded etcd, cloned from the cloud-init template.

    The first server starts the cluster, the others join it; its kubeconfig is stored where
    bootstrap.kubeconfig says. Refused before anything is created when a cluster exists, or
    when there are fewer distinct healthy blades than servers."""
    async def run(c: Context, p: Progress) -> Result:
        default_servers, default_agents = bootstrap_verb.counts_from(c, {})
        return await bootstrap_verb.bootstrap(c, default_servers if servers is None else servers,
                                              default_agents if agents is None else agents,
                                              dry_run=dry_run, yes=yes, confirm=_confirm, listener=p)
    execute(ctx, run)


def register(app: typer.Typer) -> None:
    app.command("bootstrap")(bootstrap)
