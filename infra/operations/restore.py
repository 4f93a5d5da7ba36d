"""`restore BLADE [--migrate-back]`: VMs home (when asked), uncordon, clear noout if last.

Works from the journal's maintenance record: it names the VMs that lived on the blade, the
nodes we cordoned (not ones someone else had cordoned) and whether we set `noout`.
"""

from __future__ import annotations

from infra.errors import NotFound
from infra.operations.context import Context
from infra.operations.machine import Step
from infra.operations.migrate import migrate_all
from infra.topology_build import MAINTENANCE_ANNOTATION


def restore_steps(ctx: Context, blade: str, migrate_back: bool, prefix: str = "") -> list[Step]:
    async def back() -> str:
        record = await ctx.journal.get_maintenance(blade)
        if record is None:
            return "no maintenance record: nothing to move back"
        home = {vmid for vmid, b in record.placement.items() if b == blade}
        moves = [(int(e["vmid"]), e["node"], blade) for e in await ctx.pve.cluster_resources(type="vm")
                 if int(e.get("vmid", -1)) in home and e["node"] != blade and e.get("status") == "running"]
        done = await migrate_all(ctx, moves)
        return "; ".join(done) or "every VM already home"

    async def uncordon() -> str:
        record = await ctx.journal.get_maintenance(blade)
        if ctx.k8s is None:
            return "no Kubernetes configured"
        marked = [n["metadata"]["name"] for n in await ctx.k8s.list_nodes()
                  if (n["metadata"].get("annotations") or {}).get(MAINTENANCE_ANNOTATION) == blade]
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
        if "noout" in await ctx.ceph.flags_set():
            await ctx.ceph.set_flag("noout", False)
        return "noout cleared"

    async def clear() -> str:
        await ctx.journal.clear_maintenance(blade)
        return f"{blade} out of maintenance"

    steps = [Step(f"{prefix}migrate-back", back)] if migrate_back else []
    return [*steps, Step(f"{prefix}uncordon", uncordon), Step(f"{prefix}noout-clear", noout),
            Step(f"{prefix}clear", clear)]
