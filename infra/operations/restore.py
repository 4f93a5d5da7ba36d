"""`restore BLADE [--stay]`: VMs home (unless --stay), uncordon, clear noout if last.

Works from the journal: the maintenance record names the VMs that were on the blade, the
nodes we cordoned (not ones someone else had cordoned) and whether we set `noout`; the
homes table remembers where each moved VM lives, even after a `--stay` (so a later
`restore` still brings it home, and a reboot of the blade it stayed on sends it home).
"""

from __future__ import annotations

from infra.errors import NotFound
from infra.operations.context import Context
from infra.operations.machine import Step
from infra.operations.migrate import migrate_all
from infra.topology_build import MAINTENANCE_ANNOTATION

Move = tuple[int, str, str, str]  # vmid, where it runs, where it goes, its home


async def homeward(ctx: Context, blade: str) -> tuple[list[Move], list[int]]:
    """The moves of a restore of `blade`, and the VMs already home. The VMs the drain took off
    `blade` go home (back to `blade` when their home is offline or in maintenance); so do those
    whose home is `blade`."""
    record = await ctx.journal.get_maintenance(blade)
    homes = await ctx.journal.homes()
    entries = await ctx.pve.resources()
    usable = {e.node for e in entries if e.online and e.node}
    usable -= {m.blade for m in await ctx.journal.maintenance() if m.blade != blade}
    wanted = {vmid: homes.get(vmid, (blade, 0))[0] for vmid in (record.placement if record else {})}
    wanted |= {vmid: home for vmid, (home, _) in homes.items() if home == blade}
    moves, arrived = [], []
    for e in entries:
        if e.type != "qemu" or e.vmid not in wanted or e.node is None:
            continue
        vmid, home = e.vmid, wanted[e.vmid]
        target = home if home in usable or home == blade else blade
        if e.node == home:
            arrived.append(vmid)
        elif e.node != target and e.running:
            moves.append((vmid, e.node, target, home))
    return moves, arrived


def restore_steps(ctx: Context, blade: str, migrate_back: bool, prefix: str = "") -> list[Step]:
    async def back() -> str:
        moves, arrived = await homeward(ctx, blade)
        done = await migrate_all(ctx, [(vmid, source, target) for vmid, source, target, _ in moves])
        home_now = [vmid for vmid, _, target, home in moves if target == home]
        await ctx.journal.forget_homes([*arrived, *home_now])
        return "; ".join(done) or "every VM already home"

    async def uncordon() -> str:
        record = await ctx.journal.get_maintenance(blade)
        if ctx.k8s is None:
            return "no Kubernetes configured"
        marked = [n.name for n in await ctx.k8s.nodes() if n.annotations.get(MAINTENANCE_ANNOTATION) == blade]
        cordoned, gone = [], []
        for name in record.cordoned if record else []:
            try:
                await ctx.k8s.cordon(name, on=False)
                cordoned.append(name)
            except NotFound:  # deleted (rebuilt) during the maintenance: nothing left to uncordon
                gone.append(name)
        for name in marked:
            await ctx.k8s.set_annotations(name, {MAINTENANCE_ANNOTATION: None})
        return (f"uncordoned {', '.join(cordoned) or 'nothing'}; unmarked {', '.join(marked) or 'nothing'}"
                + (f"; gone from Kubernetes: {', '.join(gone)}" if gone else ""))

    async def noout() -> str:
        record = await ctx.journal.get_maintenance(blade)
        others = [m for m in await ctx.journal.maintenance() if m.blade != blade]
        if record is None or not record.noout_set:
            return "noout was not ours to clear"
        if others:  # the flag stays for them; the last one out clears it
            others[0].noout_set = True
            await ctx.journal.put_maintenance(others[0])
            return f"noout kept: {', '.join(m.blade for m in others)} still in maintenance"
        if "noout" not in await ctx.ceph.flags_set():  # someone cleared it: say so, not "cleared"
            return "noout was already clear"
        await ctx.ceph.set_flag("noout", False)
        return "noout cleared"

    async def clear() -> str:
        await ctx.journal.clear_maintenance(blade)
        return f"{blade} out of maintenance"

    steps = [Step(f"{prefix}migrate-back", back)] if migrate_back else []
    return [*steps, Step(f"{prefix}uncordon", uncordon), Step(f"{prefix}noout-clear", noout),
            Step(f"{prefix}clear", clear)]
