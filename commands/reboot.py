"""`reboot BLADE|all [--dry-run] [--yes]`: drain, reboot, wait for the blade and Ceph, restore."""

from __future__ import annotations

from commands.operate import confirmed_start, held_lock, planned, privileges
from commands.render import render_plans
from commands.result import Confirm, Result, blade_names, check_blade
from infra import locks
from infra.operations.context import Context
from infra.operations.machine import Listener
from infra.planner import Intent, plan

PERMISSION = "operate"  # who may run it: read | operate | admin (design.md, permissions)


async def reboot(ctx: Context, blade: str, dry_run: bool = False, yes: bool = False,
                 confirm: Confirm | None = None, listener: Listener | None = None) -> Result:
    if (bad := await check_blade(ctx, blade, also=("all",))) is not None:
        return bad
    if blade != "all":
        return await planned(ctx, "reboot", blade, "reboot", dry_run=dry_run, yes=yes, confirm=confirm,
                             listener=listener)
    blades = await blade_names(ctx)
    snap = await ctx.snapshot()
    plans = [plan(snap, Intent(kind="reboot", blade=b), ctx.plan_options()) for b in blades]
    first = plans[0]
    refusal = None
    if first.blockers and not ctx.options.force:
        refusal = "; ".join(f"[{f.code}] {f.message}" for f in first.blockers)
    elif not dry_run:
        vmids = [m.vmid for p in plans for m in p.moves]
        refusal = (await held_lock(ctx, [locks.blade(b) for b in blades])
                   or await privileges(ctx, "reboot-all", blades, vmids))
    return await confirmed_start(ctx, "reboot-all", "all", {"blades": blades}, render_plans(plans),
                                 dry_run=dry_run, yes=yes, confirm=confirm, listener=listener,
                                 refusal=refusal)
