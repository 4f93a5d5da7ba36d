"""Where a pod may go and how good a place is: kube-scheduler's filters and scores, as functions.

Filters, in kube-scheduler's order: NodeUnschedulable, TaintToleration, NodeAffinity
(nodeSelector and required node affinity), NodeResourcesFit (cpu, memory, pod count against
allocatable) and PodTopologySpread (DoNotSchedule; tainted nodes still count as domains,
the default nodeTaintsPolicy: Ignore). Each filter's refusal is worded as the scheduler's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lab.k8s.controllers.base import Obj, controller_of, deleting, pod_requests, quantity, selects, spec_of
from lab.k8s.controllers.taints import UNSCHEDULABLE, describe, node_taints, tolerates, untolerated

ZONE = "topology.kubernetes.io/zone"


@dataclass
class PlacedNode:
    """A node as one scheduling round sees it: what it can hold and what is placed on it so far."""

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


def scoring_requests(pod: Obj) -> tuple[float, float]:
    """GetNonzeroRequests: a container without requests scores as 100m CPU and 200 MB."""
    cpu = memory = 0.0
    for c in spec_of(pod).get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += quantity(req["cpu"]) if "cpu" in req else 0.1
        memory += quantity(req["memory"]) if "memory" in req else 200 * 1024 * 1024
    return cpu, memory


def placed_node(obj: Obj) -> PlacedNode:
    allocatable = (obj.get("status") or {}).get("allocatable") or {}  # none posted yet: nothing fits
    return PlacedNode(
        obj,
        quantity(allocatable.get("cpu")),
        quantity(allocatable.get("memory")),
        int(quantity(allocatable.get("pods", 0))),
    )


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


def account(node: PlacedNode, pod: Obj) -> None:
    cpu, memory = pod_requests(pod)
    node.used_cpu += cpu
    node.used_memory += memory
    score_cpu, score_memory = scoring_requests(pod)
    node.score_cpu += score_cpu
    node.score_memory += score_memory
    node.count += 1
    ref = controller_of(pod)
    if ref:
        node.owners[ref["uid"]] += 1


def node_filter(pod: Obj, node: PlacedNode) -> str | None:
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


class Spread:
    """topologySpreadConstraints of one pod against the current placement."""

    def __init__(self, pod: Obj, nodes: dict[str, PlacedNode], placed: list[Obj]) -> None:
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

    def filter(self, node: PlacedNode) -> str | None:
        for c, counts in zip(self.constraints, self.counts, strict=True):
            if c.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
                continue
            domain = node.labels.get(c.get("topologyKey", ""))
            if domain is None:
                return "node(s) didn't match pod topology spread constraints (missing required label)"
            own = int(selects(c.get("labelSelector"), self.pod["metadata"].get("labels")))
            if counts.get(domain, 0) + own - min(counts.values(), default=0) > to_int(c.get("maxSkew"), 1):
                return "node(s) didn't match pod topology spread constraints"
        return None

    def score(self, node: PlacedNode) -> int:
        return sum(
            counts.get(node.labels.get(c.get("topologyKey", ""), ""), 0)
            for c, counts in zip(self.constraints, self.counts, strict=True)
            if c.get("whenUnsatisfiable") == "ScheduleAnyway"
        )


def to_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def unschedulable_message(total: int, detail: str) -> str:
    return (
        f"0/{total} nodes are available: {detail}. preemption: 0/{total} nodes are available: "
        f"{total} Preemption is not helpful for scheduling."
    )
