"""`zone`: set a K8s node's `topology.kubernetes.io/zone` to the blade its VM runs on now.

Started by the zone keeper (alert_handlers/zones.py) once a VM runs on another blade for good
(PVE HA recovery, a `restore --stay`). One step, which looks again before it writes: the VM must
still run where the keeper saw it, else nothing is written and the step says why.
"""

from __future__ import annotations

from typing import Any

from infra.errors import Fatal
from infra.operations.context import Context
from infra.operations.machine import Step
from infra.topology_build import ZONE_LABEL


def zone_steps(ctx: Context, node: str, params: dict[str, Any]) -> list[Step]:
    vmid, zone = int(params.get("vmid", 0)), str(params.get("zone", ""))

    async def label() -> str:
        if ctx.k8s is None:
            raise Fatal("no Kubernetes configured")
        where = [r for r in await ctx.pve.resources(type="vm") if r.vmid == vmid]
        if not where or where[0].node != zone or where[0].status != "running":
            found = f"on {where[0].node}, {where[0].status}" if where else "gone"
            raise Fatal(f"VM {vmid} is {found} now, not running on {zone}: label left as it was")
        current = (await ctx.k8s.node_info(node)).labels.get(ZONE_LABEL)
        if current == zone:
            return f"{node}: {ZONE_LABEL} already {zone}"
        await ctx.k8s.set_labels(node, {ZONE_LABEL: zone})
        return f"{node}: {ZONE_LABEL} {current} -> {zone}"

    return [Step("label", label)]
