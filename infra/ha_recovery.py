"""Where PVE HA restarts a dead blade's HA VMs, as ha-manager's recovery picks. Pure.

The first enabled node-affinity rule naming the VM decides the candidates (a strict rule allows
only its blades; a non-strict one prefers its highest priority and lets every other blade in
below), then the blade with the most free memory (what PVE reports in use) that can hold the VM
(as the `static` cluster resource scheduler weighs memory; the lab places the same way);
VMs in vmid order, as the CRM recovers them. Without PVE quorum nothing is fenced or restarted.
Resource-affinity rules are not modelled.
"""

from __future__ import annotations

from pydantic import BaseModel

from infra.topology import GIB, HaRule, Snapshot, Vm


class Restart(BaseModel):
    vmid: int
    name: str
    target: str | None  # None: it stays down
    why: str


def _free(snap: Snapshot, blade: str) -> int:
    b = snap.blades[blade]
    if b.mem:  # what PVE reports in use (guests, host, Ceph)
        return b.maxmem - b.mem
    return b.maxmem - sum(vm.maxmem for vm in snap.vms_on(blade) if vm.running)


def _allowed(rules: list[HaRule], sid: str, online: list[str]) -> tuple[list[str], str]:
    """(the nodes ha-manager would choose among, why) for a service (NodeAffinity: the first rule
    naming it; a non-strict rule lets every other node in at the lowest priority)."""
    rule = next((r for r in rules if sid in r.resources), None)
    if rule is None:
        return online, "most free memory"
    nodes = dict(rule.nodes) if rule.strict else {n: -1 for n in online} | dict(rule.nodes)
    allowed = [n for n in online if n in nodes]
    if not allowed:
        return [], f"its strict HA rule allows only {', '.join(sorted(rule.nodes))}"
    top = max(nodes[n] for n in allowed)
    kind = "strict" if rule.strict else "preferred"
    return [n for n in allowed if nodes[n] == top], f"{kind} by its HA rule, most free memory"


def quorate_without(snap: Snapshot, blade: str) -> bool:
    """Does PVE keep quorum once `blade` is gone (one vote per blade)?"""
    staying = sum(1 for b in snap.blades.values() if b.online and b.name != blade)
    return snap.pve_quorate and staying > len(snap.blades) // 2


def restarts(snap: Snapshot, blade: str, quorate_after: bool) -> tuple[list[Restart], list[str]]:
    """Where PVE HA restarts the blade's HA VMs, in vmid order as the CRM recovers them; the VMs
    that stay down, with why."""
    # on a blade already dead, its HA VMs are stopped and waiting: fenced, or in recovery
    lost = sorted((vm for vm in snap.vms_on(blade) if not vm.template
                   and (vm.running or vm.ha_state in ("fence", "recovery"))), key=lambda v: v.vmid)
    online = [b.name for b in snap.blades.values() if b.online and b.name != blade]
    free = {b: _free(snap, b) for b in online}
    out, down = [], []
    for vm in lost:
        if not vm.ha:
            down.append(f"{vm.name} ({vm.vmid}): not HA-managed, down until {blade} is back")
            continue
        target, why = _target(vm, snap.ha_rules, online, free, quorate_after)
        if target is not None:
            free[target] -= vm.maxmem
        else:
            down.append(f"{vm.name} ({vm.vmid}): HA, but {why}")
        out.append(Restart(vmid=vm.vmid, name=vm.name, target=target, why=why))
    return out, down


def _target(vm: Vm, rules: list[HaRule], online: list[str], free: dict[str, int],
            quorate_after: bool) -> tuple[str | None, str]:
    if not quorate_after:
        return None, "PVE would have no quorum: HA fences and restarts nothing"
    pool, why = _allowed(rules, f"vm:{vm.vmid}", online)
    room = [n for n in pool if free[n] >= vm.maxmem]
    if not room:
        return None, why if not pool else f"no allowed blade has {vm.maxmem / GIB:.1f} GiB free"
    return max(room, key=lambda n: (free[n], -online.index(n))), why
