"""`drewburr provision` on the command line (the same verb as `/drewburr provision` in Slack)."""

from __future__ import annotations

import typer

from bot.cli_ops import DryRun, Yes, _confirm, execute
from commands import provision as provision_verb
from commands.result import REFUSED
from infra.operations.provision_check import Ask


def provision(ctx: typer.Context,
              name: str | None = typer.Argument(None, metavar="NAME",
                                                help="default: next of provision.name_pattern"),
              role: str = typer.Option("agent", "--role", metavar="server|agent", help="its K3s role"),
              blade: str | None = typer.Option(None, "--blade", metavar="B", help="default: the roomiest"),
              cores: int | None = typer.Option(None, "--cores", min=1, metavar="N",
                                               help="default: provision.cores"),
              memory: int | None = typer.Option(None, "--memory", min=1, metavar="MIB",
                                                help="default: provision.memory_mib"),
              disk: int | None = typer.Option(None, "--disk", min=1, metavar="GIB",
                                              help="boot disk size (default: provision.disk_gib)"),
              ip: str | None = typer.Option(None, "--ip", metavar="CIDR", help="a static address, e.g. "
                                                                             "192.168.1.126/24"),
              gw: str | None = typer.Option(None, "--gw", metavar="IP", help="default: provision.gateway"),
              dhcp: bool = typer.Option(False, "--dhcp", help="an address from DHCP (default without --ip)"),
              dry_run: bool = DryRun, yes: bool = Yes) -> None:
    """Clone a VM from the cloud-init template, install K3s in it and join it to the cluster.

    Name, address, memory, template and blade are checked before anything is created."""
    if role not in ("server", "agent"):
        typer.echo(f"--role must be server or agent, not {role!r}", err=True)
        raise typer.Exit(REFUSED)
    ask = Ask(name=name, role="server" if role == "server" else "agent", blade=blade, cores=cores,
              memory_mib=memory, disk_gib=disk, ip=ip, gw=gw, dhcp=dhcp)
    execute(ctx, lambda c, p: provision_verb.provision(c, ask, dry_run=dry_run, yes=yes, confirm=_confirm,
                                                        listener=p))


def register(app: typer.Typer) -> None:
    app.command("provision")(provision)
