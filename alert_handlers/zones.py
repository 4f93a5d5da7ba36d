"""Keep `topology.kubernetes.io/zone` true: a node's zone is the blade its VM runs on.

Kubernetes sets the zone at registration and nothing updates it after a VM moves, yet topology
spread and the planner's PDB checks rely on it: a stale zone lets two "spread" replicas share a
blade. When PVE runs a node's VM on another blade for good (an HA recovery, a `restore --stay`),
the label follows, through a journaled `zone` operation, and it is said. During a planned
maintenance it stays (the VM is coming home): the node's zone, or the VM's remembered home, is a
blade in maintenance. A move must be seen in two rounds in a row before the label follows, so a
VM caught mid-recovery is not relabelled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

from alert_handlers.watcher import every
from infra.locks import blade as blade_lock
from infra.operations import run as operations
from infra.operations.context import Context
from infra.topology import Snapshot

Say = Callable[[str], Awaitable[None]]


class ZoneFix(NamedTuple):
    node: str
    vmid: int
    vm: str
    old: str | None
    new: str


def zone_fixes(snap: Snapshot, homes: Mapping[int, tuple[str, int]], locks: Mapping[str, int],
               ) -> tuple[list[ZoneFix], list[str]]:
    """(zone labels to set now, why the other stale ones stay). Pure."""
    maintenance = set(snap.maintenance_blades())
    fixes, kept = [], []
    for node in sorted(snap.nodes.values(), key=lambda n: n.name):
        vm = snap.vms.get(node.vm) if node.vm is not None else None
        if vm is None or node.zone is None or node.zone == vm.blade:
            continue  # a node without a zone label is left so: zones are the operator's choice
        home = homes.get(vm.vmid, ("", 0))[0]
        held = sorted({b for b in (node.zone, home) if b in maintenance})
        busy = sorted({b for b in (node.zone, vm.blade) if blade_lock(b) in locks})
        if held:
            kept.append(f"{node.name}: zone {node.zone} kept while {', '.join(held)} is in maintenance "
                        f"({vm.name} on {vm.blade} comes home)")
        elif busy:
            kept.append(f"{node.name}: operation {locks[blade_lock(busy[0])]} holds {busy[0]}; "
                        "looked at again after it")
        elif not vm.running or vm.lock or vm.ha_state not in (None, "started") \
                or not snap.blades[vm.blade].online:
            kept.append(f"{node.name}: {vm.name} on {vm.blade} is not settled ({vm.status}, "
                        f"lock {vm.lock or 'none'}, HA {vm.ha_state or 'none'})")
        else:
            fixes.append(ZoneFix(node.name, vm.vmid, vm.name, node.zone, vm.blade))
    return fixes, kept


class ZoneKeeper:
    def __init__(self, ctx: Context, say: Say, poll_seconds: float = 10.0) -> None:
        self.ctx, self.say, self.poll_seconds = ctx, say, poll_seconds
        self.seen: set[ZoneFix] = set()  # last round's: a move must be seen twice to be for good

    async def check(self) -> list[str]:
        """One round: relabel what moved for good; returns what was said."""
        snap = await self.ctx.snapshot()
        if snap.errors:  # a partial picture: no label changes on it
            return []
        fixes, _ = zone_fixes(snap, await self.ctx.journal.homes(), await self.ctx.journal.locks())
        settled = [f for f in fixes if f in self.seen]
        self.seen = set(fixes)
        said = []
        for fix in settled:
            said.append(text := await self._fix(fix))
            await self.say(text)
        return said

    async def _fix(self, fix: ZoneFix) -> str:
        params = {"vmid": fix.vmid, "zone": fix.new, "was": fix.old}
        op = await operations.create(self.ctx, "zone", fix.node, params)  # it takes no blade lock
        done = await operations.run(self.ctx, op.id)
        self.seen.discard(fix)
        if done.phase != "Succeeded":
            return f"Zone label of {fix.node} not changed: {done.last_error} [op {op.id}]"
        return (f"Zone label of K8s node {fix.node}: {fix.old} -> {fix.new}. Its VM {fix.vm} ({fix.vmid}) "
                f"runs on {fix.new} for good (PVE HA recovery or a restore that left it there) [op {op.id}]")

    async def run(self) -> None:
        await every(self.poll_seconds, self.check, "zone labels")
