"""The topology snapshot: one consistent picture of PVE, Ceph and Kubernetes.

Built from a constant number of API calls per system (see `infra/gather.py`), never one
call per VM or pod. Pure data: the planner reads it, `status` renders it.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

GIB = 1024**3


class _Model(BaseModel):
    model_config = ConfigDict(frozen=False, extra="ignore")


class Blade(_Model):
    name: str
    online: bool = True
    maxmem: int = 0  # bytes
    maxcpu: int = 0
    mem: int = 0
    maintenance: bool = False  # recorded in the journal or on a K8s node annotation


class Vm(_Model):
    vmid: int
    name: str
    blade: str
    status: str = "running"  # running | stopped | ...
    maxmem: int = 0
    maxcpu: int = 0
    template: bool = False
    ha_state: str | None = None  # HA resource state, None when not HA-managed
    lock: str | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def ha(self) -> bool:
        return self.ha_state is not None


class Taint(_Model):
    key: str
    value: str | None = None
    effect: str


class K8sNode(_Model):
    name: str
    ready: bool = True
    unschedulable: bool = False
    zone: str | None = None  # topology.kubernetes.io/zone
    server: bool = False  # K3s server (control plane + embedded etcd)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    vm: int | None = None  # vmid of the VM this node runs in, when matched


class Pod(_Model):
    namespace: str
    name: str
    node: str | None = None
    phase: str = "Running"
    ready: bool = True
    owner_kind: str | None = None  # Deployment (through its ReplicaSet), StatefulSet, DaemonSet ...
    owner_name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    mirror: bool = False
    deleting: bool = False
    local_storage: bool = False  # emptyDir: its data goes away on eviction
    pinned: str | None = None  # the node its nodeSelector kubernetes.io/hostname names: it runs nowhere else

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def workload(self) -> str | None:
        return f"{self.namespace}/{self.owner_kind}/{self.owner_name}" if self.owner_kind else None

    @property
    def drained(self) -> bool:
        """A drain waits for it to leave: not a DaemonSet or mirror pod, not finished."""
        return not (self.owner_kind == "DaemonSet" or self.mirror or self.phase in ("Succeeded", "Failed"))

    @property
    def evictable(self) -> bool:
        """What a drain evicts: a drained pod not already on its way out."""
        return self.drained and not self.deleting


class Pdb(_Model):
    namespace: str
    name: str
    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: bool = False  # selectors with expressions are matched on labels only
    disruptions_allowed: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0

    def selects(self, pod: Pod) -> bool:
        if pod.namespace != self.namespace or not self.match_labels:
            return False
        labels = pod.labels
        return all(labels.get(k) == v for k, v in self.match_labels.items())

    @property
    def never_allows_eviction(self) -> bool:
        """minAvailable equal to the replicas (or maxUnavailable 0): no eviction can ever pass."""
        return self.expected_pods > 0 and self.desired_healthy >= self.expected_pods


class Osd(_Model):
    id: int
    host: str
    up: bool = True
    in_: bool = Field(True, alias="in")
    total_bytes: int = 0  # the OSD tree's total_space and bytes_used (0: not reported)
    used_bytes: int = 0

    model_config = ConfigDict(populate_by_name=True)


class Mon(_Model):
    name: str
    host: str
    in_quorum: bool = True


class HaRule(_Model):
    """A PVE 9 HA node-affinity rule: where ha-manager may (strict) or prefers to run its resources."""
    resources: list[str]  # "vm:101"
    nodes: dict[str, int]  # blade -> priority (higher first)
    strict: bool = False


class Ceph(_Model):
    health: str = "HEALTH_OK"
    checks: dict[str, str] = Field(default_factory=dict)  # check name -> summary message
    flags: list[str] = Field(default_factory=list)
    osds: list[Osd] = Field(default_factory=list)
    mons: list[Mon] = Field(default_factory=list)

    def problems(self, ignore: frozenset[str] = frozenset({"OSDMAP_FLAGS"})) -> dict[str, str]:
        """Health checks other than our own flags (setting `noout` raises OSDMAP_FLAGS)."""
        return {k: v for k, v in self.checks.items() if k not in ignore}


class Snapshot(_Model):
    blades: dict[str, Blade]
    vms: dict[int, Vm] = Field(default_factory=dict)
    nodes: dict[str, K8sNode] = Field(default_factory=dict)
    pods: list[Pod] = Field(default_factory=list)
    pdbs: list[Pdb] = Field(default_factory=list)
    ceph: Ceph = Field(default_factory=Ceph)
    ha_rules: list[HaRule] = Field(default_factory=list)  # enabled node-affinity rules
    pve_quorate: bool = True
    mismatches: list[str] = Field(default_factory=list)  # name/zone disagreements, reported as is
    moved: list[str] = Field(default_factory=list)  # zone labels a maintenance made stale (expected)
    errors: list[str] = Field(default_factory=list)  # systems that could not be read
    taken_at: float = 0.0

    @cached_property
    def pods_by_node(self) -> dict[str, list[Pod]]:
        index: dict[str, list[Pod]] = defaultdict(list)
        for pod in self.pods:
            if pod.node:
                index[pod.node].append(pod)
        return index

    def vms_on(self, blade: str) -> list[Vm]:
        return [vm for vm in self.vms.values() if vm.blade == blade]

    def nodes_on(self, blade: str) -> list[K8sNode]:
        """K8s nodes whose VM sits on `blade` (the VM's placement in PVE is the truth)."""
        return [n for n in self.nodes.values() if n.vm is not None and n.vm in self.vms
                and self.vms[n.vm].blade == blade]

    def blade_of_node(self, node: str) -> str | None:
        n = self.nodes.get(node)
        vm = self.vms.get(n.vm) if n and n.vm is not None else None
        return vm.blade if vm else None

    def sick_blades(self) -> set[str]:
        """Blades with a down OSD, or running a VM whose K8s node is NotReady."""
        bad = {o.host for o in self.ceph.osds if not o.up}
        for node in self.nodes.values():
            vm = self.vms.get(node.vm) if node.vm is not None else None
            if vm and vm.running and not node.ready:
                bad.add(vm.blade)
        return bad

    def maintenance_blades(self) -> list[str]:
        return sorted(b.name for b in self.blades.values() if b.maintenance)
