"""The seed homelab as a hand-built snapshot (blade1..4, kube01..05, the default workloads)."""

from __future__ import annotations

from infra.topology import GIB, Blade, Ceph, K8sNode, Mon, Osd, Pdb, Pod, Snapshot, Vm

VMS = [(101, "kube01", "blade1", 4, True), (102, "kube02", "blade2", 4, True),
       (103, "kube03", "blade3", 4, True), (104, "kube04", "blade4", 6, False),
       (105, "kube05", "blade3", 6, False)]


def pod(name: str, node: str, kind: str | None = "Deployment", owner: str | None = None,
        ns: str = "default", ready: bool = True, **labels: str) -> Pod:
    return Pod(namespace=ns, name=name, node=node, owner_kind=kind, ready=ready,
               owner_name=owner or name.rsplit("-", 1)[0], labels=labels)


def homelab() -> Snapshot:
    blades = {f"blade{i}": Blade(name=f"blade{i}", maxmem=16 * GIB, maxcpu=6) for i in range(1, 5)}
    vms = {vmid: Vm(vmid=vmid, name=name, blade=blade, maxmem=mem * GIB, maxcpu=4,
                    ha_state="started" if vmid != 105 else None)
           for vmid, name, blade, mem, _ in VMS}
    vms[9000] = Vm(vmid=9000, name="ubuntu-2404-cloudinit", blade="blade1", status="stopped",
                   maxmem=2 * GIB, template=True)
    nodes = {name: K8sNode(name=name, zone=blade, server=server, vm=vmid)
             for vmid, name, blade, _, server in VMS}
    pods = [pod(f"node-exporter-{n}", n, "DaemonSet", "node-exporter", ns="monitoring") for n in nodes]
    pods += [pod("whoami-a", "kube01", app="whoami"), pod("whoami-b", "kube03", app="whoami"),
             pod("whoami-c", "kube04", app="whoami"),
             pod("traefik-a", "kube02", ns="kube-system"), pod("traefik-b", "kube05", ns="kube-system"),
             pod("ingress-solo-a", "kube05", app="ingress-solo"),
             pod("ingress-solo-b", "kube05", app="ingress-solo"),
             pod("postgres-0", "kube04", "StatefulSet", "postgres", app="postgres")]
    pdbs = [Pdb(namespace="default", name="whoami", match_labels={"app": "whoami"},
                disruptions_allowed=1, current_healthy=3, desired_healthy=2, expected_pods=3)]
    ceph = Ceph(osds=[Osd(id=i - 1, host=f"blade{i}") for i in range(1, 5)],
                mons=[Mon(name=f"blade{i}", host=f"blade{i}") for i in range(1, 4)])
    return Snapshot(blades=blades, vms=vms, nodes=nodes, pods=pods, pdbs=pdbs, ceph=ceph)
