"""The planner: snapshot + intent -> plan. Pure: no I/O, no client library, no clock.

VMs go to the eligible blade with the most free memory (after a headroom), largest VM
first; K3s server VMs go to blades without another server (etcd) when one exists. The
plan names what will move, what will be left, and every reason to stop (blockers) or
to think twice (warnings).
"""

from __future__ import annotations

from collections import Counter
from difflib import get_close_matches
from typing import Literal

from pydantic import BaseModel, Field

from infra.ceph_capacity import after_out
from infra.ha_recovery import quorate_without, restarts
from infra.topology import GIB, Snapshot, Vm

# Ceph checks that mean data is already less redundant: rebooting a blade now risks it.
RISKY_CEPH_CHECKS = frozenset({"OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED", "PG_AVAILABILITY",
                               "MON_DOWN", "OBJECT_UNFOUND", "PG_DAMAGED", "OSD_FULL"})
IntentKind = Literal["drain", "reboot", "down"]
OVERRIDE_FLAG = "--admin-override"  # how an admin lifts the one-blade-in-maintenance rule
# Warnings that mean some service goes down: a plan with one is not "ready to go" without a thought.
DOWNTIME_CODES = frozenset({"downtime", "unmanaged", "not-ha", "not-restarted"})


class UnknownBlade(ValueError):
    """Names the valid blades (and other accepted words, like `all`) and the likely one meant."""

    def __init__(self, blade: str, valid: list[str], also: tuple[str, ...] = ()) -> None:
        self.blade, self.valid = blade, valid
        words = [*valid, *also]
        close = get_close_matches(blade.lower(), words, n=1, cutoff=0.6)
        super().__init__(f"unknown blade {blade!r}; valid blades: {', '.join(valid)}"
                         + "".join(f" or {w}" for w in also)
                         + (f" (did you mean {close[0]!r}?)" if close else ""))


class Intent(BaseModel):
    kind: IntentKind
    blade: str


class PlanOptions(BaseModel):
    headroom_gib: float = 1.0
    allow_more_maintenance: bool = False  # the admin override of one-blade-in-maintenance


class Finding(BaseModel):
    severity: Literal["blocker", "warning"]
    code: str  # capacity, pdb, downtime, quorum-etcd, quorum-pve, quorum-mon, ceph, maintenance ...
    message: str


class VmMove(BaseModel):
    vmid: int
    name: str
    source: str
    target: str | None  # None: no blade has room
    memory: int
    server: bool = False
    ha: bool = False


class NodeDrain(BaseModel):
    node: str
    vmid: int | None
    cordoned: bool  # already cordoned before the plan
    evict: list[str] = Field(default_factory=list)  # "namespace/name"
    left: list[str] = Field(default_factory=list)  # DaemonSet and mirror pods stay


class Plan(BaseModel):
    intent: Intent
    moves: list[VmMove] = Field(default_factory=list)
    stays: list[str] = Field(default_factory=list)  # stopped VMs and templates left on the blade
    nodes: list[NodeDrain] = Field(default_factory=list)
    set_noout: bool = False
    findings: list[Finding] = Field(default_factory=list)

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "blocker"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.blockers

    @property
    def downtime(self) -> list[Finding]:
        """Warnings that mean some service goes down if this goes ahead."""
        return [f for f in self.warnings if f.code in DOWNTIME_CODES]


def _finding(severity: Literal["blocker", "warning"], code: str, message: str) -> Finding:
    return Finding(severity=severity, code=code, message=message)


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def _server_vms(snap: Snapshot) -> set[int]:
    return {n.vm for n in snap.nodes.values() if n.server and n.vm is not None}


def _place_vms(snap: Snapshot, blade: str, leaving: list[Vm], opts: PlanOptions,
               findings: list[Finding]) -> list[VmMove]:
    headroom = int(opts.headroom_gib * GIB)
    unhealthy = snap.sick_blades()
    free = {b.name: b.maxmem - headroom for b in snap.blades.values()
            if b.name != blade and b.online and not b.maintenance and b.name not in unhealthy}
    servers = _server_vms(snap)
    server_blades: Counter[str] = Counter()
    for vm in snap.vms.values():
        if vm.running and vm.blade in free:
            free[vm.blade] -= vm.maxmem
            if vm.vmid in servers:
                server_blades[vm.blade] += 1
    leaving = sorted(leaving, key=lambda v: (v.vmid not in servers, -v.maxmem, v.vmid))
    if leaving and not free:
        findings.append(_finding("blocker", "capacity",
                                 "no target blade: all others offline, unhealthy or in maintenance"))
    moves = []
    for vm in leaving:
        is_server = vm.vmid in servers
        fits = [b for b, room in free.items() if room >= vm.maxmem]
        spread = [b for b in fits if not server_blades[b]] if is_server else fits
        pool = spread or fits
        target = max(pool, key=lambda b: (free[b], b)) if pool else None
        if target is None and free:
            best = max(free.values(), default=0)
            findings.append(_finding("blocker", "capacity",
                                     f"not enough capacity: {vm.name} needs {_gib(vm.maxmem)}, "
                                     f"the most free on an eligible blade is {_gib(max(best, 0))}"))
        elif target is not None:
            free[target] -= vm.maxmem
            if is_server:
                if server_blades[target]:
                    findings.append(_finding(
                        "warning", "quorum-etcd",
                        f"K3s server {vm.name} will share {target} with another server: "
                        f"losing {target} would cost etcd quorum"))
                server_blades[target] += 1
        moves.append(VmMove(vmid=vm.vmid, name=vm.name, source=blade, target=target,
                            memory=vm.maxmem, server=is_server, ha=vm.ha))
    return moves


def _drain_nodes(snap: Snapshot, blade: str, findings: list[Finding], down: bool) -> list[NodeDrain]:
    nodes = snap.nodes_on(blade)
    names = {n.name for n in nodes}
    drains = {n.name: NodeDrain(node=n.name, vmid=n.vm, cordoned=n.unschedulable) for n in nodes}
    leaving = []
    for pod in snap.pods:
        if pod.node in names:
            d = drains[pod.node]
            if pod.evictable:
                d.evict.append(pod.key)
                leaving.append(pod)
            else:
                d.left.append(pod.key)
    affected = {(p.namespace, p.owner_kind, p.owner_name) for p in leaving if p.owner_kind}
    elsewhere: Counter[tuple[str, str | None, str | None]] = Counter()
    for pod in snap.pods:
        if pod.ready and pod.node not in names and pod.owner_kind:
            key = (pod.namespace, pod.owner_kind, pod.owner_name)
            if key in affected:
                elsewhere[key] += 1
    here = Counter((p.namespace, p.owner_kind, p.owner_name) for p in leaving if p.owner_kind and p.ready)
    for key in sorted(affected, key=str):
        if not elsewhere[key] and here[key]:
            ns, kind, name = key
            on = sorted({p.node or "" for p in leaving if (p.namespace, p.owner_kind, p.owner_name) == key})
            where = ", ".join(str(n) for n in on)
            message = (f"{kind} {ns}/{name} has all {here[key]} ready replicas on {where}"
                       if here[key] > 1 else
                       f"{kind} {ns}/{name} has one replica (on {where}); it restarts elsewhere")
            findings.append(_finding("warning", "downtime", message))
    bare = [p.key for p in leaving if not p.owner_kind]
    if bare:
        findings.append(_finding("warning", "unmanaged",
                                 f"{len(bare)} pod(s) have no controller and will not come back: "
                                 + ", ".join(bare[:5])))
    scratch = [p.key for p in leaving if p.local_storage]
    if scratch:
        findings.append(_finding("warning", "local-storage",
                                 f"{len(scratch)} pod(s) lose their emptyDir data: "
                                 + ", ".join(scratch[:5])))
    if not down:
        _check_pdbs(snap, leaving, findings)
    return list(drains.values())


def _check_pdbs(snap: Snapshot, leaving: list, findings: list[Finding]) -> None:
    by_ns: dict[str, list] = {}
    for pod in leaving:
        by_ns.setdefault(pod.namespace, []).append(pod)
    for pdb in snap.pdbs:
        hit = [p for p in by_ns.get(pdb.namespace, ()) if pdb.selects(p)]
        if not hit:
            continue
        if pdb.never_allows_eviction:
            findings.append(_finding("blocker", "pdb",
                                     f"PDB {pdb.namespace}/{pdb.name} never allows an eviction "
                                     f"({pdb.desired_healthy} of {pdb.expected_pods} must stay "
                                     "healthy); "
                                     f"it blocks {', '.join(p.name for p in hit[:5])}"))
        elif pdb.disruptions_allowed < len(hit):
            findings.append(_finding("warning", "pdb",
                                     f"PDB {pdb.namespace}/{pdb.name} allows {pdb.disruptions_allowed} "
                                     f"disruption(s) now; evicting {len(hit)} pod(s) will wait "
                                     "for replacements to be ready"))


def _majority(n: int) -> int:
    return n // 2 + 1


def _check_quorum(snap: Snapshot, intent: Intent, moves: list[VmMove], findings: list[Finding]) -> None:
    blade = intent.blade
    goes_offline = intent.kind in ("reboot", "down")
    severity: Literal["blocker", "warning"] = "blocker" if intent.kind == "reboot" else "warning"
    soft: Literal["blocker", "warning"] = "blocker" if intent.kind != "down" else "warning"
    if not snap.pve_quorate:
        findings.append(_finding(soft, "quorum-pve", "PVE has no quorum: it cannot migrate or start VMs"))
    elif goes_offline:
        online = [b for b in snap.blades.values() if b.online and b.name != blade]
        if len(online) < _majority(len(snap.blades)):
            findings.append(_finding(severity, "quorum-pve",
                                     f"PVE quorum at risk: {len(online)} of {len(snap.blades)} blades "
                                     f"would stay online, {_majority(len(snap.blades))} needed"))
    if snap.ceph.mons and goes_offline:
        staying = [m for m in snap.ceph.mons if m.in_quorum and m.host != blade]
        if len(staying) < _majority(len(snap.ceph.mons)):
            findings.append(_finding(severity, "quorum-mon",
                                     f"Ceph monitor quorum at risk: {len(staying)} of "
                                     f"{len(snap.ceph.mons)} monitors would stay in quorum"))
    servers = [n for n in snap.nodes.values() if n.server]
    if servers:
        stranded = {m.vmid for m in moves if m.target is None and m.server}
        lost = {n.vm for n in servers if n.vm is not None and snap.blade_of_node(n.name) == blade}
        if intent.kind == "down":
            stranded = lost
        ready = [n for n in servers if n.ready and n.vm not in stranded]
        if len(ready) < _majority(len(servers)):
            findings.append(_finding(soft, "quorum-etcd",
                                     f"etcd quorum at risk: {len(ready)} of {len(servers)} K3s servers "
                                     f"would stay ready, {_majority(len(servers))} needed"))


def _check_storm(snap: Snapshot, intent: Intent, findings: list[Finding]) -> None:
    """Another blade already down or unhealthy: rebooting a second one is refused, draining warned."""
    down = sorted(({b.name for b in snap.blades.values() if not b.online} | snap.sick_blades())
                  - {intent.blade})
    if not down:
        return
    doing = {"reboot": "rebooting", "drain": "draining", "down": "losing"}[intent.kind]
    findings.append(_finding("blocker" if intent.kind == "reboot" else "warning", "storm",
                             f"{', '.join(down)} already offline or unhealthy: {doing} {intent.blade} "
                             f"as well leaves {len(snap.blades) - len(down) - 1} blade(s) for everything"))


def _check_ceph(snap: Snapshot, intent: Intent, findings: list[Finding]) -> None:
    problems = snap.ceph.problems()
    if not problems:
        return
    risky = sorted(set(problems) & RISKY_CEPH_CHECKS)
    text = "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))
    blocking = intent.kind == "reboot" and (risky or snap.ceph.health == "HEALTH_ERR")
    findings.append(_finding("blocker" if blocking else "warning", "ceph",
                             f"Ceph is {snap.ceph.health} for a reason other than noout: {text}"))


def _check_ceph_capacity(snap: Snapshot, intent: Intent, findings: list[Finding]) -> None:
    """The blade's OSD out for good (noout lapses, the blade never comes back): can Ceph heal?"""
    capacity = after_out(snap.ceph, intent.blade)
    if capacity is None or not capacity.risks:
        return
    when = "once its OSD is marked out" if intent.kind == "down" else \
        "if its OSD is marked out (noout lifted, or the blade does not come back)"
    findings.append(_finding("warning", "ceph-capacity",
                             f"{intent.blade} {when}: {'; '.join(capacity.risks)}"))


def plan(snap: Snapshot, intent: Intent, opts: PlanOptions | None = None) -> Plan:
    """What draining, rebooting or losing `intent.blade` means for this snapshot."""
    opts = opts or PlanOptions()
    if intent.blade not in snap.blades:
        raise UnknownBlade(intent.blade, sorted(snap.blades))
    findings: list[Finding] = []
    blade = intent.blade
    if intent.kind != "down" and not snap.blades[blade].online:
        findings.append(_finding("blocker", "offline",
                                 f"{blade} is offline: nothing can be live-migrated off it "
                                 f"(`drewburr plan {blade} --for down` shows what its loss means)"))
    others = [b for b in snap.maintenance_blades() if b != blade]
    if others and intent.kind != "down" and not opts.allow_more_maintenance:
        findings.append(_finding("blocker", "maintenance",
                                 f"{', '.join(others)} already in maintenance: one blade at a time "
                                 f"(an admin can override with {OVERRIDE_FLAG})"))
    if intent.kind == "down":
        moves = _recoveries(snap, blade, findings)
    else:
        moves = _place_vms(snap, blade, [vm for vm in snap.vms_on(blade) if vm.running], opts, findings)
    moving = {m.vmid for m in moves}
    stays = [f"{vm.name} ({vm.vmid}, {_why_it_stays(vm, intent.kind)})"
             for vm in snap.vms_on(blade) if vm.vmid not in moving]
    nodes = _drain_nodes(snap, blade, findings, down=intent.kind == "down")
    _check_storm(snap, intent, findings)
    _check_quorum(snap, intent, moves, findings)
    _check_ceph(snap, intent, findings)
    _check_ceph_capacity(snap, intent, findings)
    for line in snap.mismatches:
        findings.append(_finding("warning", "mismatch", line))
    for error in snap.errors:  # a system we could not see: draining blind is not safe
        findings.append(_finding("warning" if intent.kind == "down" else "blocker", "unreachable", error))
    return Plan(intent=intent, moves=moves, stays=stays, nodes=nodes,
                set_noout=intent.kind != "down" and "noout" not in snap.ceph.flags, findings=findings)


def _why_it_stays(vm: Vm, kind: IntentKind) -> str:
    if vm.template:
        return "template"
    if kind == "down" and vm.status != "stopped":
        return "not HA: down until the blade is back"
    return vm.status


def _recoveries(snap: Snapshot, blade: str, findings: list[Finding]) -> list[VmMove]:
    """A dead blade: PVE HA restarts its HA VMs elsewhere (by its rules and free memory); the others
    wait for the blade (they stay in `stays`, with a warning each)."""
    moves, _ = restarts(snap, blade, quorate_without(snap, blade))
    servers = _server_vms(snap)
    for vm in snap.vms_on(blade):
        if vm.running and not vm.template and not vm.ha:
            findings.append(_finding("warning", "not-ha",
                                     f"{vm.name} ({vm.vmid}) is not HA-managed: it stays down "
                                     f"until {blade} is back"))
    for r in moves:
        if r.target is None:
            findings.append(_finding("warning", "not-restarted", f"{r.name} ({r.vmid}) is HA, but {r.why}"))
    return [VmMove(vmid=r.vmid, name=r.name, source=blade, target=r.target, memory=snap.vms[r.vmid].maxmem,
                   server=r.vmid in servers, ha=True) for r in moves]
