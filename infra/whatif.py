"""What happens if a blade dies now: snapshot + blade -> `WhatIf`. Pure: no I/O, no clock, no change.

Built on the planner's `down` plan (single points of failure, storm, Ceph health) and adds what
a loss means beyond a drain: where PVE HA restarts each HA VM (node-affinity rules, then the
most free memory, as ha-manager's recovery picks), which VMs stay down, how long each lost pod
is gone with and without drewburr, whether corosync, Ceph monitors and etcd keep quorum,
whether Ceph can re-replicate the blade's data, and which PDBs break.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from infra.ceph_capacity import NEARFULL, Capacity, after_out
from infra.ha_recovery import Restart, quorate_without, restarts
from infra.planner import Finding, Intent, UnknownBlade, plan
from infra.topology import Pod, Snapshot

# shown in their own sections, so not repeated among the plan's findings
OWN_SECTIONS = frozenset({"quorum-pve", "quorum-mon", "quorum-etcd", "not-ha", "not-restarted",
                          "ceph-capacity"})


class WhatIfOptions(BaseModel):
    node_monitor_grace: float = 50.0  # kube-controller-manager: Ready=Unknown after this
    pod_toleration: float = 300.0  # pods tolerate not-ready/unreachable this long
    ha_fence_delay: float = 120.0  # PVE HA fences a lost blade with active services after about this
    vm_boot: float = 60.0  # a restarted VM boots and its K3s node is Ready again
    hold_seconds: float = 60.0  # drewburr's remediation.hold_seconds
    nearfull: float = NEARFULL


class PodLoss(BaseModel):
    workload: str  # namespace/Kind/name, or namespace/pod for a pod without a controller
    pods: list[str]
    elsewhere: int  # ready replicas on other blades: the service goes on meanwhile when > 0
    without: str  # how long until they run again without drewburr
    with_drewburr: str


class Quorum(BaseModel):
    system: str
    staying: int
    total: int
    note: str = ""

    @property
    def needed(self) -> int:
        return self.total // 2 + 1

    @property
    def kept(self) -> bool:
        return self.staying >= self.needed


class WhatIf(BaseModel):
    blade: str
    offline_now: bool
    restarts: list[Restart] = Field(default_factory=list)
    stays_down: list[str] = Field(default_factory=list)
    pods: list[PodLoss] = Field(default_factory=list)
    quorum: list[Quorum] = Field(default_factory=list)
    ceph: Capacity | None = None
    pdbs: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)  # the planner's: single points of failure ...


def _quorum(snap: Snapshot, blade: str, back: dict[str, str]) -> list[Quorum]:
    out = [Quorum(system="PVE (corosync)", total=len(snap.blades),
                  staying=sum(1 for b in snap.blades.values() if b.online and b.name != blade))]
    if snap.ceph.mons:
        out.append(Quorum(system="Ceph monitors", total=len(snap.ceph.mons),
                          staying=sum(1 for m in snap.ceph.mons if m.in_quorum and m.host != blade)))
    servers = [n for n in snap.nodes.values() if n.server]
    if servers:
        lost = [n for n in servers if snap.blade_of_node(n.name) == blade]
        note = "; ".join(f"{n.name} back when PVE HA restarts it on {back[n.name]}"
                         for n in lost if n.name in back)
        out.append(Quorum(system="etcd (K3s servers)", total=len(servers), note=note,
                          staying=sum(1 for n in servers if n.ready and n not in lost)))
    return out


def _without(kind: str, restarted_on: str | None, pinned: bool, o: WhatIfOptions) -> tuple[float | None, str]:
    """(seconds, how) until a controller's lost pods run again with Kubernetes and PVE alone."""
    evicted = o.node_monitor_grace + o.pod_toleration
    back = o.ha_fence_delay + o.vm_boot
    if restarted_on and (kind == "StatefulSet" or pinned or back < evicted):  # the node itself comes back
        return back, f"its node comes back when PVE HA restarts the VM on {restarted_on}"
    if pinned:
        return None, "pinned to its node (nodeSelector), which is down until the blade is back"
    if kind == "StatefulSet":
        return None, "Terminating until the blade is back (no out-of-service taint)"
    return evicted, (f"rescheduled after node-monitor grace {o.node_monitor_grace:.0f} s + "
                     f"not-ready toleration {o.pod_toleration:.0f} s")


def _times(kind: str | None, restarted_on: str | None, pinned: bool, fenced: bool,
           o: WhatIfOptions) -> tuple[str, str]:
    """(without drewburr, with drewburr) for the pods of one workload on one lost node."""
    if kind is None:
        return ("never: no controller recreates it",) * 2
    seconds, how = _without(kind, restarted_on, pinned, o)
    without = f"~{seconds:.0f} s: {how}" if seconds is not None else f"never: {how}"
    if pinned:  # tainting its node out-of-service does not let it run anywhere else
        return without, without
    if not fenced:  # nothing guarantees the blade is off: drewburr waits for a person
        return without, "as without, unless an admin confirms the blade off sooner (PVE does not " \
                        "fence a blade without active HA services)"
    taint = max(o.ha_fence_delay, o.node_monitor_grace + o.hold_seconds)
    if seconds is not None and seconds <= taint:
        return without, without
    return without, f"~{taint:.0f} s: PVE HA fences the blade, drewburr taints its nodes out-of-service"


def _pod_losses(snap: Snapshot, blade: str, back: dict[str, str], fenced: bool,
                o: WhatIfOptions) -> tuple[list[PodLoss], list[Pod]]:
    lost_nodes = {n.name for n in snap.nodes_on(blade)}
    lost = [p for p in snap.pods if p.node in lost_nodes and p.drained]
    groups: dict[tuple[str, str | None], list[Pod]] = {}
    for p in lost:
        groups.setdefault((p.workload or p.key, p.node), []).append(p)
    out = []
    for (workload, node), pods in sorted(groups.items(), key=lambda g: (g[0][0], str(g[0][1]))):
        kind = pods[0].owner_kind
        elsewhere = sum(1 for p in snap.pods
                        if kind and p.ready and p.workload == workload and p.node not in lost_nodes)
        without, with_drewburr = _times(kind, back.get(str(node)), pods[0].pinned == node, fenced, o)
        out.append(PodLoss(workload=workload, pods=[p.name for p in pods], elsewhere=elsewhere,
                           without=without, with_drewburr=with_drewburr))
    return out, lost


def _pdbs(snap: Snapshot, lost: list[Pod]) -> list[str]:
    out = []
    for pdb in snap.pdbs:
        hit = [p for p in lost if p.ready and pdb.selects(p)]
        healthy = pdb.current_healthy - len(hit)
        if hit and healthy < pdb.desired_healthy:
            out.append(f"PDB {pdb.namespace}/{pdb.name}: {healthy} healthy, {pdb.desired_healthy} wanted "
                       f"(loses {', '.join(p.name for p in hit[:5])})")
    return out


def what_if(snap: Snapshot, blade: str, opts: WhatIfOptions | None = None) -> WhatIf:
    """What losing `blade` now means (raises UnknownBlade)."""
    o = opts or WhatIfOptions()
    if blade not in snap.blades:
        raise UnknownBlade(blade, sorted(snap.blades))
    quorum_pve = quorate_without(snap, blade)
    moves, down = restarts(snap, blade, quorum_pve)
    vm_nodes = {n.vm: n.name for n in snap.nodes.values() if n.vm is not None}
    back = {vm_nodes[r.vmid]: r.target for r in moves if r.target and r.vmid in vm_nodes}
    # PVE fences only a blade whose LRM is active (it runs HA services): its watchdog is armed
    fenced = quorum_pve and any(vm.ha for vm in snap.vms_on(blade) if vm.running)
    pods, lost = _pod_losses(snap, blade, back, fenced, o)
    found = plan(snap, Intent(kind="down", blade=blade)).findings
    return WhatIf(blade=blade, offline_now=not snap.blades[blade].online, restarts=moves, stays_down=down,
                  pods=pods, quorum=_quorum(snap, blade, back), ceph=after_out(snap.ceph, blade, o.nearfull),
                  pdbs=_pdbs(snap, lost), findings=[f for f in found if f.code not in OWN_SECTIONS])
