"""`status`: blades, VMs, K8s nodes and Ceph at a glance (a constant number of API calls)."""

from __future__ import annotations

from commands.render_status import render_status
from commands.result import DONE, Result, shown
from infra.operations.context import Context

PERMISSION = "read"  # who may run it: read | operate | admin (design.md, permissions)


async def status(ctx: Context) -> Result:
    snap = await ctx.snapshot()
    maintenance = await ctx.journal.maintenance()
    locks = await ctx.journal.locks()
    homes = await ctx.journal.homes()
    data = {**snap.model_dump(mode="json"), "maintenance": [m.model_dump(mode="json") for m in maintenance],
            "locks": locks, "homes": {vmid: home for vmid, (home, _) in homes.items()}}
    return shown(DONE, render_status(snap, maintenance, locks), data)
