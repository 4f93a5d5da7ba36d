"""Raw API payloads -> `Snapshot`. Pure functions, so captured payloads test them directly.

Inputs are what the APIs send: PVE's `data` lists and Kubernetes' JSON lists (camelCase).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from infra.topology import Blade, Ceph, HaRule, K8sNode, Mon, Osd, Pdb, Pod, Snapshot, Taint, Vm

ZONE_LABEL = "topology.kubernetes.io/zone"
MAINTENANCE_ANNOTATION = "drewburr.io/maintenance"
SERVER_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/etcd",
                 "node-role.kubernetes.io/master")
Json = dict[str, Any]


@dataclass
class RawTopology:
    """One answer per call: what `gather` fetched, before any interpretation."""

    resources: list[Json]  # /cluster/resources
    cluster_status: list[Json]  # /cluster/status
    ha_status: list[Json] = field(default_factory=list)  # /cluster/ha/status/current
    ha_rules: list[Json] = field(default_factory=list)  # /cluster/ha/rules (PVE 9)
    ceph_status: Json = field(default_factory=dict)  # /cluster/ceph/status
    ceph_flags: list[Json] = field(default_factory=list)  # /cluster/ceph/flags
    osd_tree: Json = field(default_factory=dict)  # /nodes/{n}/ceph/osd
    nodes: list[Json] = field(default_factory=list)  # GET /api/v1/nodes items
    pods: list[Json] = field(default_factory=list)
    replicasets: list[Json] = field(default_factory=list)
    pdbs: list[Json] = field(default_factory=list)


def parse_blades(resources: Iterable[Json], cluster_status: Iterable[Json],
                 maintenance: Iterable[str] = ()) -> dict[str, Blade]:
    online = {e["name"]: bool(e.get("online")) for e in cluster_status if e.get("type") == "node"}
    held = set(maintenance)
    blades = {}
    for r in resources:
        if r.get("type") != "node":
            continue
        name = r["node"]
        blades[name] = Blade(name=name, online=online.get(name, r.get("status") == "online"),
                             maxmem=int(r.get("maxmem") or 0), maxcpu=int(r.get("maxcpu") or 0),
                             mem=int(r.get("mem") or 0), maintenance=name in held)
    return blades


def pve_quorate(cluster_status: Iterable[Json]) -> bool:
    return any(bool(e.get("quorate")) for e in cluster_status if e.get("type") == "cluster")


def parse_vms(resources: Iterable[Json], ha_status: Iterable[Json] = ()) -> dict[int, Vm]:
    ha = {e["sid"] if "sid" in e else e.get("id", ""): e.get("state") or "started"
          for e in ha_status if e.get("type") == "service"}
    vms = {}
    for r in resources:
        if r.get("type") != "qemu":
            continue
        vmid = int(r["vmid"])
        vms[vmid] = Vm(vmid=vmid, name=r.get("name") or f"VM {vmid}", blade=r["node"],
                       status=r.get("status", "unknown"), maxmem=int(r.get("maxmem") or 0),
                       maxcpu=int(r.get("maxcpu") or 0), template=bool(r.get("template")),
                       ha_state=ha.get(f"vm:{vmid}"), lock=r.get("lock") or None)
    return vms


def _is_ready(conditions: Iterable[Json]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class ParsedNodes(NamedTuple):
    nodes: dict[str, K8sNode]
    mismatches: list[str]  # disagreements nobody explains: shown, never guessed away
    moved: list[str]  # zone label != VM's blade because a maintenance moved the VM: expected
    held: set[str]  # blades in maintenance by the node annotation


def parse_nodes(items: Iterable[Json], vms: dict[int, Vm], pattern: str = "{vm}",
                homes: Mapping[int, tuple[str, int]] | None = None) -> ParsedNodes:
    """Nodes matched to VMs by name, cross-checked against their zone label.

    `homes` maps a VM that a maintenance moved to (its home blade, the operation's id).
    """
    by_name = {pattern.format(vm=vm.name): vm for vm in vms.values() if not vm.template}
    homes = homes or {}
    nodes: dict[str, K8sNode] = {}
    mismatches: list[str] = []
    moved: list[str] = []
    held: set[str] = set()
    for item in items:
        meta, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
        labels = meta.get("labels") or {}
        annotations = meta.get("annotations") or {}
        name = meta["name"]
        vm = by_name.get(name)
        zone = labels.get(ZONE_LABEL)
        if vm is None:
            mismatches.append(f"K8s node {name} matches no VM (pattern {pattern!r})")
        elif zone and zone != vm.blade and homes.get(vm.vmid, ("", 0))[0] == zone:
            moved.append(f"K8s node {name}: zone label {zone}, VM {vm.vmid} now on {vm.blade} "
                         f"(moved off its home by operation {homes[vm.vmid][1]}; "
                         f"`drewburr restore {zone}` brings it home)")
        elif zone and zone != vm.blade:
            mismatches.append(f"K8s node {name}: zone label {zone}, but its VM {vm.vmid} runs on {vm.blade}")
        if annotations.get(MAINTENANCE_ANNOTATION):
            held.add(annotations[MAINTENANCE_ANNOTATION])
        nodes[name] = K8sNode(
            name=name, ready=_is_ready(status.get("conditions") or []),
            unschedulable=bool(spec.get("unschedulable")), zone=zone,
            server=any(labels.get(k) == "true" for k in SERVER_LABELS),
            labels=labels, annotations=annotations,
            taints=[Taint(key=t["key"], value=t.get("value"), effect=t["effect"])
                    for t in spec.get("taints") or []],
            vm=vm.vmid if vm else None)
    return ParsedNodes(nodes, mismatches, moved, held)


def _controller(meta: Json) -> tuple[str | None, str | None]:
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("kind"), ref.get("name")
    return None, None


def parse_pods(items: Iterable[Json], replicasets: Iterable[Json] = ()) -> list[Pod]:
    """Pods with their top owner: a ReplicaSet's pod is owned by its Deployment, if any."""
    rs_owner: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for rs in replicasets:
        meta = rs.get("metadata", {})
        kind, name = _controller(meta)
        if kind:
            rs_owner[(meta.get("namespace", ""), meta["name"])] = (kind, name)
    pods = []
    for item in items:
        meta, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
        ns = meta.get("namespace", "default")
        kind, owner = _controller(meta)
        if kind == "ReplicaSet" and owner is not None and (ns, owner) in rs_owner:
            kind, owner = rs_owner[(ns, owner)]
        annotations = meta.get("annotations") or {}
        pods.append(Pod(
            namespace=ns, name=meta["name"], node=spec.get("nodeName"),
            phase=status.get("phase", "Pending"), ready=_is_ready(status.get("conditions") or []),
            owner_kind=kind, owner_name=owner, labels=meta.get("labels") or {},
            mirror="kubernetes.io/config.mirror" in annotations,
            deleting=meta.get("deletionTimestamp") is not None,
            local_storage=any("emptyDir" in v for v in spec.get("volumes") or []),
            pinned=(spec.get("nodeSelector") or {}).get("kubernetes.io/hostname")))
    return pods


def parse_pdbs(items: Iterable[Json]) -> list[Pdb]:
    pdbs = []
    for item in items:
        meta, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
        selector = spec.get("selector") or {}
        pdbs.append(Pdb(
            namespace=meta.get("namespace", "default"), name=meta["name"],
            match_labels=selector.get("matchLabels") or {},
            match_expressions=bool(selector.get("matchExpressions")),
            disruptions_allowed=int(status.get("disruptionsAllowed") or 0),
            current_healthy=int(status.get("currentHealthy") or 0),
            desired_healthy=int(status.get("desiredHealthy") or 0),
            expected_pods=int(status.get("expectedPods") or 0)))
    return pdbs


def _osds(tree: Json, host: str | None = None) -> Iterable[Osd]:
    if tree.get("type") == "osd":
        yield Osd(id=int(tree["id"]), host=tree.get("host") or host or "?",
                  up=tree.get("status") == "up", in_=bool(tree.get("in", 1)),
                  total_bytes=int(tree.get("total_space") or 0), used_bytes=int(tree.get("bytes_used") or 0))
    if tree.get("type") == "host":
        host = tree.get("name")
    for child in tree.get("children") or []:
        yield from _osds(child, host)


def parse_ceph(status: Json, flags: Iterable[Json] = (), osd_tree: Json | None = None) -> Ceph:
    health = status.get("health") or {}
    checks = {name: ((c.get("summary") or {}).get("message") or c.get("severity", ""))
              for name, c in (health.get("checks") or {}).items()}
    quorum = set(status.get("quorum_names") or [])
    mons = [Mon(name=m["name"], host=m["name"], in_quorum=m["name"] in quorum)
            for m in (status.get("monmap") or {}).get("mons") or []]
    tree = (osd_tree or {}).get("root", osd_tree or {})
    return Ceph(health=health.get("status", "HEALTH_OK"), checks=checks,
                flags=sorted(f["name"] for f in flags if f.get("value")),
                osds=list(_osds(tree)), mons=mons)


def parse_ha_rules(items: Iterable[Json]) -> list[HaRule]:
    """Enabled node-affinity rules, in order; `nodes` is `blade1:2,blade2` (no priority = 0)."""
    rules = []
    for item in items:
        if item.get("type") != "node-affinity" or item.get("disable") or item.get("errors"):
            continue
        nodes = {}
        for entry in str(item.get("nodes") or "").split(","):
            name, _, priority = entry.strip().partition(":")
            if name:
                nodes[name] = int(priority or 0)
        rules.append(HaRule(resources=[r.strip() for r in str(item.get("resources") or "").split(",")
                                       if r.strip()], nodes=nodes, strict=bool(item.get("strict"))))
    return rules


def build_snapshot(raw: RawTopology, pattern: str = "{vm}", maintenance: Iterable[str] = (),
                   now: float = 0.0, homes: Mapping[int, tuple[str, int]] | None = None) -> Snapshot:
    vms = parse_vms(raw.resources, raw.ha_status)
    nodes, mismatches, moved, held = parse_nodes(raw.nodes, vms, pattern, homes)
    blades = parse_blades(raw.resources, raw.cluster_status, set(maintenance) | held)
    return Snapshot(blades=blades, vms=vms, nodes=nodes, moved=moved,
                    pods=parse_pods(raw.pods, raw.replicasets), pdbs=parse_pdbs(raw.pdbs),
                    ceph=parse_ceph(raw.ceph_status, raw.ceph_flags, raw.osd_tree),
                    ha_rules=parse_ha_rules(raw.ha_rules),
                    pve_quorate=pve_quorate(raw.cluster_status), mismatches=mismatches,
                    taken_at=now)
