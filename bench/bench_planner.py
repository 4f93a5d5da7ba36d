"""Planner speed: a drain plan for one blade of a synthetic homelab, 4 to 64 blades.

At 64 blades: 2,000 VMs, 2,000 K8s nodes, 60,000 pods. The target is under 200 ms.
"""

from __future__ import annotations

import statistics
import time

from infra.planner import Intent, plan
from infra.topology import GIB, Blade, Ceph, K8sNode, Mon, Osd, Pdb, Pod, Snapshot, Vm

VMS_AT_64 = 2000
PODS_PER_NODE = 30
TARGET_MS = 200.0


def synthetic(blades: int) -> Snapshot:
    """`blades` blades with VMs, one K8s node per VM, 30 pods per node (3-replica Deployments)."""
    n_vms = max(blades, VMS_AT_64 * blades // 64)
    snap_blades = {f"blade{i}": Blade(name=f"blade{i}", maxmem=512 * GIB, maxcpu=64) for i in range(blades)}
    vms, nodes = {}, {}
    for i in range(n_vms):
        name, blade = f"node{i:05d}", f"blade{i % blades}"
        vms[1000 + i] = Vm(vmid=1000 + i, name=name, blade=blade, maxmem=8 * GIB, ha_state="started")
        nodes[name] = K8sNode(name=name, zone=blade, server=i < 3, vm=1000 + i)
    names = list(nodes)
    pods, pdbs = [], []
    per_node = PODS_PER_NODE - 1
    deployments = len(names) * per_node // 3
    for d in range(deployments):
        ns = f"team{d % 50}"
        for r in range(3):
            node = names[(d * 7 + r * 13) % len(names)]
            pods.append(Pod(namespace=ns, name=f"app{d}-{r}", node=node, owner_kind="Deployment",
                            owner_name=f"app{d}", labels={"app": f"app{d}"}))
        if d % 10 == 0:
            pdbs.append(Pdb(namespace=ns, name=f"app{d}", match_labels={"app": f"app{d}"},
                            disruptions_allowed=1, current_healthy=3, desired_healthy=2, expected_pods=3))
    pods += [Pod(namespace="monitoring", name=f"node-exporter-{n}", node=n, owner_kind="DaemonSet",
                 owner_name="node-exporter") for n in names]
    ceph = Ceph(osds=[Osd(id=i, host=f"blade{i}") for i in range(blades)],
                mons=[Mon(name=f"blade{i}", host=f"blade{i}") for i in range(min(blades, 3))])
    return Snapshot(blades=snap_blades, vms=vms, nodes=nodes, pods=pods, pdbs=pdbs, ceph=ceph)


def median_ms(snap: Snapshot, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        plan(snap, Intent(kind="drain", blade="blade1"))
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    print(f"{'blades':>6} {'VMs':>6} {'nodes':>6} {'pods':>7} {'plan ms (median)':>17}")
    last = 0.0
    for blades in (4, 8, 16, 32, 64):
        snap = synthetic(blades)
        last = median_ms(snap)
        print(f"{blades:>6} {len(snap.vms):>6} {len(snap.nodes):>6} {len(snap.pods):>7} {last:>17.1f}")
    verdict = "OK" if last < TARGET_MS else "OVER"
    print(f"64 blades: {last:.1f} ms, target < {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
