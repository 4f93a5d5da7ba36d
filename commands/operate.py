"""The common path of a changing verb: plan -> confirm -> journaled operation -> outcome."""

from __future__ import annotations

from typing import Any

from commands.plan import make_plan
from commands.render import render_operation, render_plan
from commands.result import DONE, Confirm, Result, finished, refused
from infra.journal import Locked
from infra.operations import run as ops
from infra.operations.context import Context
from infra.operations.machine import Listener
from infra.planner import IntentKind


async def refuse(ctx: Context, kind: str, target: str, reason: str, text: str | None = None) -> Result:
    """Refused before anything changed: journaled too (every decision is), and said."""
    op = await ctx.journal.refuse(kind, target, {}, reason, now=ctx.clock())
    return refused(f"{text or reason}\n(journaled as operation {op.id})")


async def start(ctx: Context, kind: str, target: str, params: dict[str, Any],
                listener: Listener | None) -> Result:
    try:
        op = await ops.create(ctx, kind, target, params)
    except Locked as exc:
        return await refuse(ctx, kind, target, str(exc))
    final = await ops.run(ctx, op.id, listener)
    return finished(final, render_operation(final))


async def planned(ctx: Context, kind: str, blade: str, intent: IntentKind, *, dry_run: bool, yes: bool,
                  confirm: Confirm | None, listener: Listener | None) -> Result:
    """Show the plan; stop on dry-run, blockers or a no; else run the operation."""
    p = await make_plan(ctx, blade, intent)
    if isinstance(p, Result):
        return p
    text = render_plan(p)
    if dry_run:
        return Result(DONE, text)
    if p.blockers and not ctx.options.force:
        return await refuse(ctx, kind, blade, "; ".join(f"[{f.code}] {f.message}" for f in p.blockers), text)
    if not yes and (confirm is None or not confirm(text)):
        return refused(text + "\nNot confirmed: nothing changed.")
    result = await start(ctx, kind, blade, {}, listener)
    shown = not yes  # the person already read the plan when confirming
    return Result(result.code, result.text if shown else f"{text}\n{result.text}", result.operation)
