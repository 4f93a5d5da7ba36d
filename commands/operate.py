"""The common path of a changing verb: plan -> privileges -> confirm -> journaled operation -> outcome."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType

from commands.plan import make_plan
from commands.render import line, plain, render_plan
from commands.render_ops import render_operation
from commands.result import DONE, REFUSED, Confirm, Result, finished, refused, shown
from infra import locks, preflight
from infra.journal import Locked
from infra.operations import run as ops
from infra.operations.context import Context
from infra.operations.machine import Listener
from infra.planner import IntentKind


async def refuse(ctx: Context, kind: str, target: str, reason: str,
                 plan: RenderableType | None = None) -> Result:
    """Refused before anything changed: journaled too (every decision is), and said after the plan."""
    op = await ctx.journal.refuse(kind, target, {}, reason, now=ctx.clock())
    said = [*([plan] if plan is not None else []), line(reason, style="bold red"),
            line(f"(journaled as operation {op.id})")]
    return shown(REFUSED, Group(*said))


async def start(ctx: Context, kind: str, target: str, params: dict[str, Any],
                listener: Listener | None) -> Result:
    try:
        op = await ops.create(ctx, kind, target, params)
    except Locked as exc:
        return await refuse(ctx, kind, target, str(exc))
    final = await ops.run(ctx, op.id, listener)
    return finished(final, render_operation(final))


async def held_lock(ctx: Context, keys: list[str]) -> str | None:
    """Why the operation cannot take its lock keys now (checked before asking anyone), or None."""
    held = await ctx.journal.locks()
    for key in keys:
        if key in held:
            holder = await ctx.journal.get(held[key])
            return str(Locked(key, held[key], holder.kind if holder else "?"))
    return None


async def privileges(ctx: Context, kind: str, blades: list[str], vmids: list[int]) -> str | None:
    """What the configured identities lack for this operation, as one refusal, or None."""
    return privilege_refusal(await preflight.missing(ctx, kind, blades, vmids))


def privilege_refusal(lacking: list[str]) -> str | None:
    """What the identities lack, said as one refusal naming where to fix it, or None."""
    if not lacking:
        return None
    return (f"missing privileges: {', '.join(lacking)}; check the PVE token's role (proxmox.token_id) "
            "and the Kubernetes identity's RBAC (kubernetes.kubeconfig)")


def asked(body: RenderableType, *, dry_run: bool, yes: bool, confirm: Confirm | None) -> Result | None:
    """Stop after showing `body` on --dry-run, or when nobody said yes; None: go ahead."""
    if dry_run:
        return shown(DONE, body)
    if not yes and (confirm is None or not confirm(body)):
        # the person has just read the plan: do not print it again
        return refused("Not confirmed: nothing changed." if confirm else
                       f"{plain(body)}\nNot confirmed: nothing changed.")
    return None


async def confirmed_start(ctx: Context, kind: str, target: str, params: dict[str, Any], body: RenderableType,
                          *, dry_run: bool, yes: bool, confirm: Confirm | None,
                          listener: Listener | None, refusal: str | None = None) -> Result:
    """Show `body` (the plan); stop on dry-run, a refusal or a no; else run the operation."""
    if refusal and not dry_run:
        return await refuse(ctx, kind, target, refusal, body)
    if (stop := asked(body, dry_run=dry_run, yes=yes, confirm=confirm)) is not None:
        return stop
    result = await start(ctx, kind, target, params, listener)
    if not yes or result.body is None:  # asked: the plan was shown already
        return result
    return shown(result.code, Group(body, result.body), result.data, result.operation)


async def planned(ctx: Context, kind: str, blade: str, intent: IntentKind, *, dry_run: bool, yes: bool,
                  confirm: Confirm | None, listener: Listener | None) -> Result:
    """Plan; refuse on blockers, a held lock or missing privileges; confirm; run."""
    p = await make_plan(ctx, blade, intent)
    if isinstance(p, Result):
        return p
    refusal = None
    if p.blockers and not ctx.options.force:
        refusal = "; ".join(f"[{f.code}] {f.message}" for f in p.blockers)
    elif not dry_run:
        refusal = (await held_lock(ctx, [locks.blade(blade)])
                   or await privileges(ctx, kind, [blade], [m.vmid for m in p.moves]))
    return await confirmed_start(ctx, kind, blade, {}, render_plan(p), dry_run=dry_run, yes=yes,
                                 confirm=confirm, listener=listener, refusal=refusal)
