"""The default scheduler: filters nodes as kube-scheduler does, then picks the least loaded.

Filters, in kube-scheduler's order: NodeUnschedulable, TaintToleration, NodeAffinity
(nodeSelector and required node affinity), NodeResourcesFit (cpu, memory, pod count against
allocatable) and PodTopologySpread (DoNotSchedule; tainted nodes still count as domains,
the default nodeTaintsPolicy: Ignore). Scores prefer fewer matching pods in the
ScheduleAnyway domains, fewer siblings on the node and in the zone, then the least allocated.
An unschedulable pod gets PodScheduled=False with the scheduler's own message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import (
    NODE,
    POD,
    PVC,
    STATUS_SUCCESS,
    Obj,
    Store,
    condition,
    controller_of,
    deleting,
    pod_requests,
    pvc_names,
    quantity,
    selects,
    set_condition,
    spec_of,
    update_if_changed,
)
from lab.k8s.controllers.taints import UNSCHEDULABLE, describe, node_taints, tolerates, untolerated
from lab.k8s.errors import Conflict, Invalid

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

ZONE = "topology.kubernetes.io/zone"
UNSCHEDULABLE_FLUSH = 30.0  # kube-scheduler retries its unschedulable queue at least this often


@dataclass
class _Node:
    obj: Obj
    cpu: float
    memory: float
    pods: int
    used_cpu: float = 0.0
    used_memory: float = 0.0
    score_cpu: float = 0.0  # what scoring counts: requests, or the non-zero defaults where there are none
    score_memory: float = 0.0
    count: int = 0
    owners: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]

    @property
    def labels(self) -> dict[str, str]:
        return self.obj["metadata"].get("labels") or {}


def _scoring_requests(pod: Obj) -> tuple[float, float]:
    """GetNonzeroRequests: a container without requests scores as 100m CPU and 200 MB."""
    cpu = memory = 0.0
    for c in spec_of(pod).get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += quantity(req["cpu"]) if "cpu" in req else 0.1
        memory += quantity(req["memory"]) if "memory" in req else 200 * 1024 * 1024
    return cpu, memory


def _node(obj: Obj) -> _Node:
    allocatable = (obj.get("status") or {}).get("allocatable") or {}  # none posted yet: nothing fits
    return _Node(
        obj,
        quantity(allocatable.get("cpu")),
        quantity(allocatable.get("memory")),
        int(quantity(allocatable.get("pods", 0))),
    )


def bind_pod(store: Store, pod: Obj, node: str, now: float) -> Obj:
    def bind(o: Obj) -> None:
        o["spec"]["nodeName"] = node
        set_condition(
            o.setdefault("status", {}).setdefault("conditions", []), "PodScheduled", "True", now, probe=True
        )

    return update_if_changed(store, POD, pod, bind)


def create_namespaced_pod_binding(cluster: K8sCluster, namespace: str, name: str, body: Obj) -> Obj:
    """POST pods/NAME/binding: what a scheduler (kube-scheduler or anyone) uses to place a pod."""
    target = body.get("target") if isinstance(body, dict) else None
    node = target.get("name") if isinstance(target, dict) else None
    if not node or target.get("kind", "Node") not in ("Node", ""):
        raise Invalid(f'Binding "{name}" is invalid: target.name: Required value')
    pod = cluster.store.get(POD, namespace, name)
    if deleting(pod):
        raise Conflict(
            f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is being deleted, '
            "cannot be assigned to a host"
        )
    if spec_of(pod).get("nodeName"):
        raise Conflict(
            f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already assigned '
            f'to node "{spec_of(pod)["nodeName"]}"'
        )
    bind_pod(cluster.store, pod, node, cluster.clock())
    return dict(STATUS_SUCCESS)


def affinity_matches(pod: Obj, node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec_of(pod).get("nodeSelector") or {}).items()):
        return False
    required = ((spec_of(pod).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    return any(
        all(_expr(e, labels) for e in t.get("matchExpressions") or [])
        and all(_expr(e, fields) for e in t.get("matchFields") or [])
        for t in terms
    )


def _expr(e: dict[str, Any], values: dict[str, str]) -> bool:
    op, key, want = e.get("operator"), e.get("key", ""), e.get("values") or []
    have = values.get(key)
    if op == "In":
        return have in want
    if op == "NotIn":
        return have not in want
    if op == "Exists":
        return key in values
    if op == "DoesNotExist":
        return key not in values
    if op in ("Gt", "Lt") and have is not None and want:
        try:
            return int(have) > int(want[0]) if op == "Gt" else int(have) < int(want[0])
        except ValueError:
            return False
    return False


class Scheduler:
    watches = frozenset({"Pod", "Node", "PersistentVolumeClaim"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self._flush: float | None = None  # when pods left unschedulable are tried again anyway

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        pods = store.list(POD)
        pending = [
            p
            for p in pods
            if not spec_of(p).get("nodeName")
            and not deleting(p)
            and p.get("status", {}).get("phase") == "Pending"
            and spec_of(p).get("schedulerName", "default-scheduler") == "default-scheduler"
        ]
        if not self._retry_unschedulable(pending):
            # the unschedulable queue: a pod that did not fit waits for a change that may make room
            pending = [p for p in pending if (condition(p, "PodScheduled") or {}).get("status") != "False"]
        if not pending:
            return self._flush
        nodes = {n["metadata"]["name"]: _node(n) for n in store.list(NODE)}
        placed = [
            p
            for p in pods
            if spec_of(p).get("nodeName") in nodes
            and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
        ]
        for p in placed:
            self._account(nodes[spec_of(p)["nodeName"]], p)
        pending.sort(
            key=lambda p: (
                -_int(spec_of(p).get("priority"), 0),
                p["metadata"]["creationTimestamp"],
                p["metadata"]["namespace"],
                p["metadata"]["name"],
            )
        )
        for pod in pending:
            target = self._place(pod, nodes, placed)
            if isinstance(target, str):
                marked = update_if_changed(
                    store,
                    POD,
                    pod,
                    lambda o, m=target: set_condition(
                        o["status"].setdefault("conditions", []),
                        "PodScheduled",
                        "False",
                        now,
                        "Unschedulable",
                        m,
                        probe=True,
                    ),
                )
                if marked is not pod:  # a new reason: the scheduler says it once
                    self.cluster.recorder.record(
                        pod, "Warning", "FailedScheduling", target, "default-scheduler", now
                    )
                continue
            bound = bind_pod(store, pod, target.name, now)
            name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            self.cluster.recorder.record(
                bound,
                "Normal",
                "Scheduled",
                f"Successfully assigned {name} to {target.name}",
                "default-scheduler",
                now,
            )
            self._account(target, bound)
            placed.append(bound)
        waiting = any((condition(p, "PodScheduled") or {}).get("status") == "False" for p in pending)
        self._flush = now + UNSCHEDULABLE_FLUSH if waiting else None
        return self._flush

    def _retry_unschedulable(self, pending: list[Obj]) -> bool:
        """Nodes, claims or a removed pod may have made room; or it is time to flush the queue."""
        changed, store = self.cluster.changed, self.cluster.store
        if self.cluster.full or changed.keys() & {"Node", "PersistentVolumeClaim"}:
            return True
        if self._flush is not None and self.cluster.clock() >= self._flush:
            return True
        return any(
            store.find(POD, *key) is None or deleting(store.get(POD, *key)) for key in changed.get("Pod", ())
        )

    @staticmethod
    def _account(node: _Node, pod: Obj) -> None:
        cpu, memory = pod_requests(pod)
        node.used_cpu += cpu
        node.used_memory += memory
        score_cpu, score_memory = _scoring_requests(pod)
        node.score_cpu += score_cpu
        node.score_memory += score_memory
        node.count += 1
        ref = controller_of(pod)
        if ref:
            node.owners[ref["uid"]] += 1

    def _place(self, pod: Obj, nodes: dict[str, _Node], placed: list[Obj]) -> _Node | str:
        total = len(nodes)
        for claim in pvc_names(pod):
            pvc = self.cluster.store.find(PVC, pod["metadata"]["namespace"], claim)
            if pvc is None:
                return _message(total, f'persistentvolumeclaim "{claim}" not found')
            if pvc.get("status", {}).get("phase") != "Bound":
                return _message(total, "pod has unbound immediate PersistentVolumeClaims")
        spread = _Spread(pod, nodes, placed)
        reasons: Counter[str] = Counter()
        fits: list[_Node] = []
        for node in nodes.values():
            reason = self._filter(pod, node) or spread.filter(node)
            if reason:
                reasons[reason] += 1
            else:
                fits.append(node)
        if not fits:
            detail = ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))
            return _message(total, detail) if total else "no nodes available to schedule pods"
        ref = controller_of(pod)
        owner = ref["uid"] if ref else None
        zone_owners = (
            Counter(
                {
                    z: sum(n.owners[owner] for n in nodes.values() if n.labels.get(ZONE) == z)
                    for z in {n.labels.get(ZONE) for n in fits}
                }
            )
            if owner
            else Counter()
        )
        cpu, memory = _scoring_requests(pod)
        return min(
            fits,
            key=lambda n: (
                spread.score(n),
                n.owners[owner] if owner else 0,
                zone_owners[n.labels.get(ZONE)],
                (n.score_cpu + cpu) / (n.cpu or 1) + (n.score_memory + memory) / (n.memory or 1),
                n.name,
            ),
        )

    @staticmethod
    def _filter(pod: Obj, node: _Node) -> str | None:
        tolerations = spec_of(pod).get("tolerations") or []
        if spec_of(node.obj).get("unschedulable") and not any(
            tolerates(t, {"key": UNSCHEDULABLE, "effect": "NoSchedule"}) for t in tolerations
        ):
            return "node(s) were unschedulable"
        taint = untolerated(node_taints(node.obj), tolerations, ("NoSchedule", "NoExecute"))
        if taint:
            return f"node(s) had untolerated taint {describe(taint)}"
        if not affinity_matches(pod, node.obj):
            return "node(s) didn't match Pod's node affinity/selector"
        cpu, memory = pod_requests(pod)
        if node.count + 1 > node.pods:
            return "Too many pods"
        if node.used_cpu + cpu > node.cpu + 1e-9:
            return "Insufficient cpu"
        if node.used_memory + memory > node.memory:
            return "Insufficient memory"
        return None


class _Spread:
    """topologySpreadConstraints of one pod against the current placement."""

    def __init__(self, pod: Obj, nodes: dict[str, _Node], placed: list[Obj]) -> None:
        self.pod = pod
        self.constraints = spec_of(pod).get("topologySpreadConstraints") or []
        self.counts: list[dict[str, int]] = []
        for c in self.constraints:
            key = c.get("topologyKey", "")
            tolerations = spec_of(pod).get("tolerations") or []
            eligible = {
                name: n
                for name, n in nodes.items()
                if key in n.labels
                and (c.get("nodeAffinityPolicy", "Honor") != "Honor" or affinity_matches(pod, n.obj))
                and (
                    c.get("nodeTaintsPolicy", "Ignore") != "Honor"
                    or not untolerated(node_taints(n.obj), tolerations, ("NoSchedule", "NoExecute"))
                )
            }
            counts = {n.labels[key]: 0 for n in eligible.values()}
            for p in placed:
                n = eligible.get(spec_of(p)["nodeName"])
                if (
                    n
                    and not deleting(p)
                    and p["metadata"]["namespace"] == pod["metadata"]["namespace"]
                    and selects(c.get("labelSelector"), p["metadata"].get("labels"))
                ):
                    counts[n.labels[key]] += 1
            self.counts.append(counts)

    def filter(self, node: _Node) -> str | None:
        for c, counts in zip(self.constraints, self.counts, strict=True):
            if c.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
                continue
            domain = node.labels.get(c.get("topologyKey", ""))
            if domain is None:
                return "node(s) didn't match pod topology spread constraints (missing required label)"
            own = int(selects(c.get("labelSelector"), self.pod["metadata"].get("labels")))
            if counts.get(domain, 0) + own - min(counts.values(), default=0) > _int(c.get("maxSkew"), 1):
                return "node(s) didn't match pod topology spread constraints"
        return None

    def score(self, node: _Node) -> int:
        return sum(
            counts.get(node.labels.get(c.get("topologyKey", ""), ""), 0)
            for c, counts in zip(self.constraints, self.counts, strict=True)
            if c.get("whenUnsatisfiable") == "ScheduleAnyway"
        )


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _message(total: int, detail: str) -> str:
    return (
        f"0/{total} nodes are available: {detail}. preemption: 0/{total} nodes are available: "
        f"{total} Preemption is not helpful for scheduling."
    )
