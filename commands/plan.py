"""`plan BLADE [--for drain|reboot|down]`: what draining, rebooting or losing BLADE means."""

from __future__ import annotations

from commands.render import render_plan
from commands.result import DONE, Result, refused, shown
from infra.operations.context import Context
from infra.planner import Intent, IntentKind, Plan, UnknownBlade, plan

PERMISSION = "read"  # who may run it: read | operate | admin (design.md, permissions)


async def make_plan(ctx: Context, blade: str, kind: IntentKind = "drain") -> Plan | Result:
    """The plan, or the refusal for an unknown blade."""
    snap = await ctx.snapshot()
    try:
        return plan(snap, Intent(kind=kind, blade=blade), ctx.plan_options())
    except UnknownBlade as exc:
        return refused(str(exc))


async def show_plan(ctx: Context, blade: str, kind: IntentKind = "drain") -> Result:
    p = await make_plan(ctx, blade, kind)
    if isinstance(p, Result):
        return p
    data = {**p.model_dump(mode="json"), "ok": p.ok}
    return shown(DONE, render_plan(p), data)
