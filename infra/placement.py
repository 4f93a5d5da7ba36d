"""Where a new VM goes (pure): a healthy blade with room for its memory plus headroom, K3s
servers on blades with no other server (etcd quorum survives one blade), and the HA rule the VM
will join honoured (node affinity: its nodes; negative resource affinity: away from its
resources; positive: beside them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.topology import GIB, Snapshot


@dataclass(frozen=True)
class Placement:
    blade: str | None
    reason: str  # why this blade, or why none
    free: dict[str, int]  # bytes free (after headroom) on each eligible blade, before this VM


def free_memory(snap: Snapshot, headroom_gib: float) -> dict[str, int]:
    """Healthy, online blades not in maintenance -> memory left after headroom and running VMs."""
    sick = snap.sick_blades()
    free = {b.name: b.maxmem - int(headroom_gib * GIB) for b in snap.blades.values()
            if b.online and not b.maintenance and b.name not in sick}
    for vm in snap.vms.values():
        if vm.blade in free and (vm.running or vm.lock == "clone"):
            free[vm.blade] -= vm.maxmem
    return free


def server_blades(snap: Snapshot) -> set[str]:
    return {blade for n in snap.nodes.values() if n.server and (blade := snap.blade_of_node(n.name))}


def _rule_filter(rule: dict[str, Any] | None, snap: Snapshot, blades: list[str]) -> tuple[list[str], str]:
    if not rule or rule.get("disable"):
        return blades, ""
    name = rule.get("rule", "?")
    if rule.get("type") == "node-affinity":
        nodes = {n.partition(":")[0] for n in str(rule.get("nodes", "")).split(",") if n}
        return [b for b in blades if b in nodes], f" (HA rule {name}: nodes {', '.join(sorted(nodes))})"
    members = {int(r.split(":")[1]) for r in str(rule.get("resources", "")).split(",") if r.startswith("vm:")}
    partners = {snap.vms[v].blade for v in members if v in snap.vms}
    if rule.get("affinity") == "negative":
        return [b for b in blades if b not in partners], f" (HA rule {name}: away from its resources)"
    beside = [b for b in blades if b in partners]
    return (beside or blades), f" (HA rule {name}: beside its resources)"


def choose_blade(snap: Snapshot, memory: int, server: bool, headroom_gib: float,
                 wanted: str | None = None, rule: dict[str, Any] | None = None) -> Placement:
    """The blade with the most free memory among those allowed, or None and the reason."""
    free = free_memory(snap, headroom_gib)
    need = f"{memory / GIB:.1f} GiB"
    if wanted is not None and wanted not in free:
        why = "unknown" if wanted not in snap.blades else "offline, unhealthy or in maintenance"
        return Placement(None, f"blade {wanted} is {why}", free)
    pool = [wanted] if wanted else sorted(free)
    fits = [b for b in pool if free[b] >= memory]
    if not fits:
        most = max((free[b] for b in pool), default=0)
        return Placement(None, f"no blade has {need} free beside {headroom_gib:g} GiB headroom "
                               f"(the most is {max(most, 0) / GIB:.1f} GiB)", free)
    if server:
        taken = server_blades(snap)
        fits = [b for b in fits if b not in taken]
        if not fits:
            return Placement(None, "every blade with room already runs a K3s server "
                                   f"({', '.join(sorted(taken))}): servers go on distinct blades", free)
    fits, said = _rule_filter(rule, snap, fits)
    if not fits:
        return Placement(None, f"no blade with room is allowed{said}", free)
    best = max(fits, key=lambda b: (free[b], b))
    return Placement(best, f"{best}: {free[best] / GIB:.1f} GiB free{said}", free)
