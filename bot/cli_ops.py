"""The maintenance verbs on the command line: status, plan, whatif, drain, restore, reboot, ops.

Exit codes: 0 done, 1 the operation failed, 2 usage error or refused before anything
changed. Output: rich (tables, wrapping, colour) on a terminal, plain when piped, and
`--json` where there is data.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import typer
from rich.console import RenderableType

from bot.config import ConfigError, Settings, load_settings
from bot.output import Progress, console, emit
from commands import audit as audit_verb
from commands import drain as drain_verb
from commands import ops as ops_verb
from commands import plan as plan_verb
from commands import reboot as reboot_verb
from commands import restore as restore_verb
from commands import status as status_verb
from commands import whatif as whatif_verb
from commands.render import plain
from commands.render_ops import render_operation
from commands.result import FAILED, REFUSED, Result
from infra import owner
from infra.errors import GatewayError
from infra.gateways.alertmanager import AlertmanagerGateway
from infra.gateways.k8s import K8sGateway
from infra.gateways.pve import PveGateway
from infra.journal import Journal, JournalError
from infra.journal_k8s import KubernetesJournal
from infra.journal_sqlite import SqliteJournal
from infra.operations.context import Context, OpsOptions

ops_app = typer.Typer(help="The journal of operations: list, show, cancel, resume.", no_args_is_help=False,
                      rich_markup_mode=None)

Blade = typer.Argument(..., metavar="BLADE", help="a blade, e.g. blade3")
DryRun = typer.Option(False, "--dry-run", help="print the plan and stop (changes nothing)")
Yes = typer.Option(False, "--yes", "-y", help="do not ask for confirmation")
AdminOverride = typer.Option(False, "--admin-override", help="admin: allow a second blade in maintenance")
Json = typer.Option(False, "--json", help="print the result as JSON")


def config_path(ctx: typer.Context) -> str | None:
    """The root `--config` if the root app has one, else $DREWBURR_CONFIG (load_settings reads it)."""
    value = ctx.find_root().params.get("config")
    return str(value) if value else None


def build_context(settings: Settings, admin_override: bool = False) -> Context:
    px = settings.proxmox
    if px.ca_file is not None and px.verify_tls and not Path(px.ca_file).is_file():
        raise ConfigError(f"proxmox.ca_file: {px.ca_file} is not a file")
    pve = PveGateway(px.url, px.token_id, px.token_secret.get_secret_value(), ca_file=px.ca_file,
                     verify_tls=px.verify_tls, timeout=px.timeout_seconds)
    kube = settings.kubernetes
    k8s = None
    try:
        if kube.kubeconfig is not None:
            if not Path(kube.kubeconfig).is_file():
                raise ConfigError(f"kubernetes.kubeconfig: {kube.kubeconfig} is not a file")
            k8s = K8sGateway(kube.kubeconfig, kube.context)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):  # running in a pod: its service account
            k8s = K8sGateway(None)
    except GatewayError as exc:
        raise ConfigError(f"kubernetes: {exc.detail}") from None
    # The operations section's keys are OpsOptions' own names.
    options = OpsOptions(**settings.operations.model_dump(), headroom_gib=settings.planner.headroom_gib,
                         node_pattern=settings.planner.node_pattern,
                         allow_more_maintenance=admin_override)
    token = settings.webhooks.token
    provision = settings.provision.options() if settings.provision else None
    alertmanager = AlertmanagerGateway(settings.alertmanager.url) if settings.alertmanager else None
    return Context(pve=pve, k8s=k8s, journal=open_journal(settings, k8s), options=options,
                   provision=provision, alertmanager=alertmanager, bootstrap=settings.bootstrap.options(),
                   addons=settings.addons, webhook_token=token.get_secret_value() if token else None)


def open_journal(settings: Settings, k8s: K8sGateway | None) -> Journal:
    if settings.journal.backend == "kubernetes":
        if k8s is None:
            raise ConfigError("journal.backend: kubernetes needs kubernetes.kubeconfig (or to run in a pod)")
        return KubernetesJournal(k8s, settings.journal.namespace)
    try:
        return SqliteJournal(settings.journal.path)
    except JournalError as exc:
        raise ConfigError(f"journal.path: {exc}") from None


def _confirm(plan: RenderableType) -> bool:
    console().print(plan)
    if not typer.get_text_stream("stdin").isatty():
        typer.echo("Not a terminal: pass --yes to go ahead.", err=True)
        return False
    return typer.confirm("Go ahead?", default=False)


def execute(ctx: typer.Context, verb: Callable[[Context, Progress], Awaitable[Result]],
            admin_override: bool = False, as_json: bool = False) -> None:
    try:
        context = build_context(load_settings(config_path(ctx)), admin_override)
    except ConfigError as exc:
        typer.echo(f"config error:\n{exc}", err=True)
        raise typer.Exit(REFUSED) from None
    progress = Progress()
    try:
        result = asyncio.run(_until_interrupted(verb, context, progress))
    except GatewayError as exc:
        progress.stop()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(FAILED) from None
    except KeyboardInterrupt:  # Ctrl-C: _until_interrupted has journaled it and said how to resume
        progress.stop()
        raise typer.Exit(FAILED) from None
    except JournalError as exc:  # it broke mid-way: the systems may be half changed
        progress.stop()
        typer.echo(f"error: {exc}\nThe journal could not be written: check `drewburr status` before "
                   "running anything else.", err=True)
        raise typer.Exit(FAILED) from None
    progress.stop()
    emit(result, as_json)
    raise typer.Exit(result.code)


async def _until_interrupted(verb: Callable[[Context, Progress], Awaitable[Result]], context: Context,
                             progress: Progress) -> Result:
    """The verb. Ctrl-C makes asyncio.run cancel it (then raise KeyboardInterrupt): the operation
    stays resumable, so journal why and say how, still on the loop."""
    try:
        return await verb(context, progress)
    except asyncio.CancelledError:
        progress.stop()
        typer.echo(await _interrupted(context), err=True)
        raise


async def _interrupted(context: Context) -> str:
    lines = ["Interrupted."]
    for op in await context.journal.unfinished():
        if op.owner == owner.me() and await context.journal.note_error(op.id, context.clock(),
                                                                       "interrupted (Ctrl-C)"):
            lines.append(plain(render_operation(op, steps=False, interrupted=True)))
    return "\n".join(lines)


def status(ctx: typer.Context, as_json: bool = Json) -> None:
    """Blades, VMs, K8s nodes and Ceph health."""
    execute(ctx, lambda c, _: status_verb.status(c), as_json=as_json)


def plan(ctx: typer.Context, blade: str = Blade,
         kind: str = typer.Option("drain", "--for", metavar="drain|reboot|down",
                                  help="what to plan for: a drain, a reboot, or the blade dying"),
         as_json: bool = Json) -> None:
    """What draining, rebooting or losing BLADE means (changes nothing)."""
    if kind not in ("drain", "reboot", "down"):
        typer.echo(f"--for must be drain, reboot or down, not {kind!r}", err=True)
        raise typer.Exit(REFUSED)
    execute(ctx, lambda c, _: plan_verb.show_plan(c, blade, kind), as_json=as_json)  # type: ignore[arg-type]


def whatif(ctx: typer.Context, blade: str = Blade, as_json: bool = Json) -> None:
    """What happens if BLADE dies now: HA restarts, pods lost and for how long, quorum, Ceph (changes
    nothing)."""
    execute(ctx, lambda c, _: whatif_verb.whatif(c, blade), as_json=as_json)


def drain(ctx: typer.Context, blade: str = Blade, dry_run: bool = DryRun, yes: bool = Yes,
          admin_override: bool = AdminOverride) -> None:
    """Move every VM and pod off BLADE and mark it in maintenance."""
    execute(ctx, lambda c, p: drain_verb.drain(c, blade, dry_run=dry_run, yes=yes, confirm=_confirm,
                                                listener=p), admin_override)


def restore(ctx: typer.Context, blade: str = Blade,
            stay: bool = typer.Option(False, "--stay", help="leave the VMs where they are (their home "
                                                           "is remembered for a later restore)"),
            dry_run: bool = DryRun, yes: bool = Yes) -> None:
    """End BLADE's maintenance: its VMs come home unless --stay.

    Then it uncordons its nodes, and clears noout when no other blade is in maintenance."""
    execute(ctx, lambda c, p: restore_verb.restore(c, blade, stay=stay, dry_run=dry_run, yes=yes,
                                                    confirm=_confirm, listener=p))


def reboot(ctx: typer.Context, blade: str = typer.Argument(..., metavar="BLADE|all",
                                                           help="a blade, or all (one at a time)"),
           dry_run: bool = DryRun, yes: bool = Yes, admin_override: bool = AdminOverride) -> None:
    """Drain, reboot and restore BLADE (all: one blade at a time).

    It waits for the blade to come back and for Ceph to be as healthy as before."""
    execute(ctx, lambda c, p: reboot_verb.reboot(c, blade, dry_run=dry_run, yes=yes, confirm=_confirm,
                                                  listener=p), admin_override)


@ops_app.callback(invoke_without_command=True)
def ops_default(ctx: typer.Context) -> None:
    """With no subcommand: list recent operations."""
    if ctx.invoked_subcommand is None:
        execute(ctx, lambda c, _: ops_verb.list_ops(c))


@ops_app.command("list")
def ops_list(ctx: typer.Context, limit: int = typer.Option(20, min=1, help="how many, newest first"),
             as_json: bool = Json) -> None:
    """Recent operations, newest first."""
    execute(ctx, lambda c, _: ops_verb.list_ops(c, limit), as_json=as_json)


OpId = typer.Argument(..., metavar="ID", help="the operation's number (see `ops list`)")


@ops_app.command("show")
def ops_show(ctx: typer.Context, op_id: int = OpId, as_json: bool = Json) -> None:
    """One operation with its steps."""
    execute(ctx, lambda c, _: ops_verb.show(c, op_id), as_json=as_json)


@ops_app.command("audit")
def ops_audit(ctx: typer.Context, op_id: int | None = typer.Argument(
                  None, metavar="ID", help="only what concerns this operation"),
              limit: int = typer.Option(50, min=1, help="how many, newest first"),
              as_json: bool = Json) -> None:
    """Who ran what from Slack, where, and what came of it."""
    execute(ctx, lambda c, _: audit_verb.audit(c, op_id, limit), as_json=as_json)


@ops_app.command("cancel")
def ops_cancel(ctx: typer.Context, op_id: int = OpId, dry_run: bool = DryRun, yes: bool = Yes) -> None:
    """Stop a running operation (within a poll interval, even mid-step)."""
    execute(ctx, lambda c, _: ops_verb.cancel(c, op_id, dry_run=dry_run, yes=yes, confirm=_confirm))


@ops_app.command("resume")
def ops_resume(ctx: typer.Context, op_id: int | None = typer.Argument(
        None, metavar="ID", help="one operation (default: every interrupted one)"),
               dry_run: bool = DryRun, yes: bool = Yes) -> None:
    """Continue operations a killed process left unfinished."""
    execute(ctx, lambda c, p: ops_verb.resume(c, op_id, dry_run=dry_run, yes=yes, confirm=_confirm,
                                               listener=p))


def register(app: typer.Typer) -> None:
    """Add the maintenance verbs to the root `drewburr` app."""
    for fn in (status, plan, whatif, drain, restore, reboot):
        app.command(fn.__name__)(fn)
    app.add_typer(ops_app, name="ops")



