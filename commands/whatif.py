"""`whatif BLADE`: what happens if BLADE dies now, from the live topology. Changes nothing."""

from __future__ import annotations

from commands.render_whatif import render_whatif
from commands.result import DONE, Result, refused, shown
from infra.operations.context import Context
from infra.planner import UnknownBlade
from infra.whatif import what_if

PERMISSION = "read"  # who may run it: read | operate | admin (design.md, permissions)


async def whatif(ctx: Context, blade: str) -> Result:
    snap = await ctx.snapshot()
    try:
        analysis = what_if(snap, blade)
    except UnknownBlade as exc:
        return refused(str(exc))
    return shown(DONE, render_whatif(analysis), analysis.model_dump(mode="json"))
