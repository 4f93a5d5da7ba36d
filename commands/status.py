"""`status`: blades, VMs, K8s nodes and Ceph at a glance (a constant number of API calls)."""

from __future__ import annotations

from commands.render import render_status, when
from commands.result import DONE, Result
from infra.operations.context import Context

PERMISSION = "read"  # who may run it: read | operate | admin (design.md, permissions)


async def status(ctx: Context) -> Result:
    snap = await ctx.snapshot()
    text = render_status(snap)
    for m in await ctx.journal.maintenance():
        noout = "set by it" if m.noout_set else "not ours"
        text += (f"\nIn maintenance: {m.blade} since {when(m.since)} (operation {m.op_id}; cordoned "
                 f"{', '.join(m.cordoned) or 'nothing'}; noout {noout}); "
                 f"`drewburr restore {m.blade} --migrate-back` ends it")
    held = await ctx.journal.locks()
    if held:
        text += "\nLocks: " + ", ".join(f"{b} (operation {op})" for b, op in sorted(held.items()))
    return Result(DONE, text)
