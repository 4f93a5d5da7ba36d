"""`reboot BLADE`: drain -> reboot through PVE -> online, OSD up, Ceph as before -> restore.

`reboot all` runs the same steps blade by blade; the first failure stops it (the machine
stops at the first failed step).
"""

from __future__ import annotations

from infra.errors import Fatal, Unavailable
from infra.gateways.pve_models import Resource
from infra.operations.context import Context
from infra.operations.drain import drain_steps
from infra.operations.machine import Step
from infra.operations.restore import restore_steps


async def _node(ctx: Context, blade: str) -> Resource:
    for entry in await ctx.pve.resources(type="node"):
        if entry.node == blade:
            return entry
    raise Fatal(f"{blade} is not in /cluster/resources")


def reboot_steps(ctx: Context, op_id: int, blade: str, prefix: str = "") -> list[Step]:
    key = f"{prefix}uptime_before"

    async def reboot() -> str:
        node = await _node(ctx, blade)
        op = await ctx.journal.get(op_id)
        before = op.params.get(key) if op else None
        if before is not None and (not node.online or node.uptime < before):
            return f"{blade} is already rebooting"
        running = [e.label for e in await ctx.pve.resources(type="vm") if e.node == blade and e.running]
        if running:  # something came back since the drain: rebooting now would kill it
            raise Fatal(f"refusing to reboot {blade}: VMs running on it again: {', '.join(running)}. "
                        f"Run `drewburr drain {blade} --yes` to move them, then reboot")
        await ctx.journal.update_params(op_id, {key: node.uptime})
        await ctx.pve.node_command(blade, "reboot")
        return f"reboot of {blade} requested"

    async def online() -> str:
        op = await ctx.journal.get(op_id)
        before = int(op.params.get(key, 0)) if op else 0

        async def back() -> str | None:
            try:
                node = await _node(ctx, blade)
            except Unavailable:
                return None  # the node we asked may be the one rebooting
            if node.online and node.uptime < before:
                return f"{blade} online again (uptime {node.uptime}s)"
            return None
        return await ctx.poll_until(back, ctx.options.boot_timeout_seconds, f"{blade} to be back online")

    async def ceph_back() -> str:
        record = await ctx.journal.get_maintenance(blade)
        before = set(record.ceph_checks) if record else set()
        missing = [""]

        async def healthy() -> str | None:
            ceph = await ctx.ceph.health(blade)
            osds = [o for o in ceph.osds if o.host == blade]
            new = set(ceph.problems()) - before
            ids = ", ".join(f"osd.{o.id}" for o in osds)
            if osds and all(o.up for o in osds) and not new:
                return f"{ids} up; Ceph {ceph.health}, no check that was not there before the drain"
            missing[0] = ", ".join(sorted(new)) or f"{ids or 'its OSDs'} not up"
            return None
        return await ctx.poll_until(healthy, ctx.options.boot_timeout_seconds,
                                    lambda: f"Ceph to be back to its pre-drain health ({missing[0]})")

    return [*drain_steps(ctx, op_id, blade, prefix=f"{prefix}drain:", for_="reboot"),
            Step(f"{prefix}reboot", reboot), Step(f"{prefix}wait-online", online),
            Step(f"{prefix}wait-ceph", ceph_back),
            *restore_steps(ctx, blade, migrate_back=True, prefix=f"{prefix}restore:")]


def reboot_all_steps(ctx: Context, op_id: int, blades: list[str]) -> list[Step]:
    return [step for blade in blades for step in reboot_steps(ctx, op_id, blade, prefix=f"{blade}/")]
