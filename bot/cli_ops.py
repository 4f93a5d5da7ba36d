"""The maintenance verbs on the command line: status, plan, drain, restore, reboot, ops.

Exit codes: 0 done, 1 the operation failed, 2 usage error or refused before anything
changed. Progress: rich on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import typer
from rich.console import Console

from bot.config import ConfigError, Settings, load_settings
from commands import drain as drain_verb
from commands import ops as ops_verb
from commands import plan as plan_verb
from commands import reboot as reboot_verb
from commands import restore as restore_verb
from commands import status as status_verb
from commands.render import render_operation
from commands.result import FAILED, REFUSED, Result
from infra.errors import GatewayError, Unavailable
from infra.gateways.k8s import K8sGateway
from infra.gateways.pve import PveGateway
from infra.journal import JournalError, OperationStatus, StepRecord
from infra.journal_sqlite import SqliteJournal
from infra.operations.context import Context, OpsOptions

UNREACHABLE_HINT = {"pve": "\nPVE did not answer: check proxmox.url and that the cluster is up.",
                    "k8s": "\nKubernetes did not answer: check kubernetes.kubeconfig and the API server."}

ops_app = typer.Typer(help="The journal of operations: list, show, cancel, resume.", no_args_is_help=False)


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
    try:
        journal = SqliteJournal(settings.journal.path)
    except JournalError as exc:
        raise ConfigError(f"journal.path: {exc}") from None
    return Context(pve=pve, k8s=k8s, journal=journal, options=options)


class Progress:
    """Step transitions as they happen: a rich status line on a TTY, plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.console = Console()
        self._status = None

    def __call__(self, op: OperationStatus, step: StepRecord) -> None:
        line = f"[{op.done}/{op.total}] {step.name}: {step.outcome}"
        line += f" - {step.message}" if step.message else ""
        if self.tty:
            if self._status is None:
                self._status = self.console.status(line)
                self._status.start()
            self._status.update(line)
            if step.outcome in ("done", "failed", "retrying"):
                self.console.print(line, highlight=False)
        else:
            print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()


def _confirm(text: str) -> bool:
    typer.echo(text)
    if not sys.stdin.isatty():
        typer.echo("Not a terminal: pass --yes to go ahead.", err=True)
        return False
    return typer.confirm("Go ahead?", default=False)


def execute(ctx: typer.Context, verb: Callable[[Context, Progress], Awaitable[Result]],
            admin_override: bool = False) -> None:
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
        hint = UNREACHABLE_HINT.get(exc.system, "") if isinstance(exc, Unavailable) else ""
        typer.echo(f"error: {exc}{hint}", err=True)
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
    typer.echo(result.text, err=result.code == REFUSED)
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
        if op.pid == os.getpid() and await context.journal.note_error(op.id, context.clock(),
                                                                       "interrupted (Ctrl-C)"):
            lines.append(render_operation(op, steps=False, interrupted=True))
    return "\n".join(lines)


def status(ctx: typer.Context) -> None:
    """Blades, VMs, K8s nodes and Ceph health."""
    execute(ctx, lambda c, _: status_verb.status(c))


def plan(ctx: typer.Context, blade: str = typer.Argument(..., help="e.g. blade3"),
         kind: str = typer.Option("drain", "--for", help="drain | reboot | down (the blade died)")) -> None:
    """What draining BLADE would do (changes nothing)."""
    if kind not in ("drain", "reboot", "down"):
        typer.echo(f"--for must be drain, reboot or down, not {kind!r}", err=True)
        raise typer.Exit(REFUSED)
    execute(ctx, lambda c, _: plan_verb.show_plan(c, blade, kind))  # type: ignore[arg-type]


def drain(ctx: typer.Context, blade: str = typer.Argument(...),
          dry_run: bool = typer.Option(False, "--dry-run", help="print the plan and stop"),
          yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
          admin_override: bool = typer.Option(False, "--admin-override",
                                              help="allow a second blade in maintenance")) -> None:
    """Move every VM and pod off BLADE and mark it in maintenance."""
    execute(ctx, lambda c, p: drain_verb.drain(c, blade, dry_run=dry_run, yes=yes, confirm=_confirm,
                                                listener=p), admin_override)


def restore(ctx: typer.Context, blade: str = typer.Argument(...),
            migrate_back: bool = typer.Option(False, "--migrate-back", help="move its VMs back")) -> None:
    """End BLADE's maintenance: uncordon, clear noout when it is the last."""
    execute(ctx, lambda c, p: restore_verb.restore(c, blade, migrate_back=migrate_back, listener=p))


def reboot(ctx: typer.Context, blade: str = typer.Argument(..., help="a blade, or all"),
           yes: bool = typer.Option(False, "--yes", "-y"),
           admin_override: bool = typer.Option(False, "--admin-override")) -> None:
    """Drain BLADE, reboot it, wait for it and Ceph, restore (all: one blade at a time)."""
    execute(ctx, lambda c, p: reboot_verb.reboot(c, blade, yes=yes, confirm=_confirm, listener=p),
            admin_override)


@ops_app.callback(invoke_without_command=True)
def ops_default(ctx: typer.Context) -> None:
    """With no subcommand: list recent operations."""
    if ctx.invoked_subcommand is None:
        execute(ctx, lambda c, _: ops_verb.list_ops(c))


@ops_app.command("list")
def ops_list(ctx: typer.Context, limit: int = typer.Option(20, min=1)) -> None:
    """Recent operations, newest first."""
    execute(ctx, lambda c, _: ops_verb.list_ops(c, limit))


@ops_app.command("show")
def ops_show(ctx: typer.Context, op_id: int = typer.Argument(..., metavar="ID")) -> None:
    """One operation with its steps."""
    execute(ctx, lambda c, _: ops_verb.show(c, op_id))


@ops_app.command("cancel")
def ops_cancel(ctx: typer.Context, op_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Stop an operation before its next step."""
    execute(ctx, lambda c, _: ops_verb.cancel(c, op_id))


@ops_app.command("resume")
def ops_resume(ctx: typer.Context, op_id: int | None = typer.Argument(None, metavar="[ID]")) -> None:
    """Continue operations a killed process left unfinished."""
    execute(ctx, lambda c, p: ops_verb.resume(c, op_id, listener=p))


def register(app: typer.Typer) -> None:
    """Add the maintenance verbs to the root `drewburr` app."""
    for fn in (status, plan, drain, restore, reboot):
        app.command(fn.__name__)(fn)
    app.add_typer(ops_app, name="ops")
