"""The DaemonSet controller: one pod per eligible node, pinned there by node affinity.

Its pods tolerate what real DaemonSet pods tolerate (not-ready and unreachable with no time
limit, the pressure taints, unschedulable), so a cordoned or dead node keeps them.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import (
    DAEMONSET,
    NODE,
    Obj,
    deleting,
    int_or_percent,
    pod_active,
    pod_ready,
    spec_of,
    template_hash,
    update_if_changed,
)
from lab.k8s.controllers.placement import affinity_matches
from lab.k8s.controllers.pods import by_owner, generated_name, pod_from_template, remove_pod
from lab.k8s.controllers.taints import (
    NOT_READY,
    UNREACHABLE,
    UNSCHEDULABLE,
    node_taints,
    tolerates,
    untolerated,
)

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

REVISION = "controller-revision-hash"
_DS_TOLERATIONS = [
    (NOT_READY, "NoExecute"),
    (UNREACHABLE, "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    (UNSCHEDULABLE, "NoSchedule"),
]


def daemon_tolerations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    tolerations = list(spec.get("tolerations") or [])
    extra = [
        *_DS_TOLERATIONS,
        *([("node.kubernetes.io/network-unavailable", "NoSchedule")] if spec.get("hostNetwork") else []),
    ]
    for key, effect in extra:
        if not any(tolerates(t, {"key": key, "effect": effect}) for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return tolerations


def _pin(spec: dict[str, Any], node: str) -> dict[str, Any]:
    affinity = copy.deepcopy(spec.get("affinity") or {})
    affinity.setdefault("nodeAffinity", {})["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
    }
    return affinity


class DaemonSetController:
    watches = frozenset({"DaemonSet", "Pod", "Node"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store, owned = self.cluster.store, by_owner(self.cluster)
        nodes = store.list(NODE)
        for ds in store.list(DAEMONSET):
            if not deleting(ds):
                self._sync(ds, nodes, owned.get(ds["metadata"]["uid"], []))
        return None

    def _sync(self, ds: Obj, nodes: list[Obj], pods: list[Obj]) -> None:
        spec = (spec_of(ds).get("template") or {}).get("spec") or {}
        tolerations = daemon_tolerations(spec)
        revision = template_hash(spec_of(ds).get("template"))
        probe = {"spec": spec}
        fits = [n for n in nodes if affinity_matches(probe, n)]
        # new pods go only where every NoSchedule/NoExecute taint is tolerated; running ones
        # stay while their NoExecute taints are (nodeShouldRunDaemonPod)
        eligible = {
            n["metadata"]["name"]
            for n in fits
            if not untolerated(node_taints(n), tolerations, ("NoSchedule", "NoExecute"))
        }
        keep = {
            n["metadata"]["name"]
            for n in fits
            if not untolerated(node_taints(n), tolerations, ("NoExecute",))
        }
        active = [p for p in pods if pod_active(p)]
        on_node: dict[str, list[Obj]] = {}
        for pod in active:
            on_node.setdefault(_target(pod), []).append(pod)
        for node in sorted(eligible - on_node.keys()):
            on_node[node] = [
                pod_from_template(
                    self.cluster,
                    ds,
                    generated_name(self.cluster, ds["metadata"]["name"]),
                    {REVISION: revision, "pod-template-generation": str(ds["metadata"].get("generation", 1))},
                    {"tolerations": tolerations, "affinity": _pin(spec, node)},
                )
            ]
        for node, node_pods in on_node.items():
            doomed = node_pods if node not in keep else node_pods[1:]
            for pod in doomed:
                remove_pod(self.cluster, ds, pod)
        current = {n: ps[0] for n, ps in on_node.items() if n in eligible}
        self._roll(ds, current, revision)
        update_if_changed(
            self.cluster.store, DAEMONSET, ds, lambda o: _status(o, eligible, current, on_node, revision)
        )

    def _roll(self, ds: Obj, current: dict[str, Obj], revision: str) -> None:
        """Replace old pods: unavailable ones at once, available ones within maxUnavailable."""
        strategy = spec_of(ds).get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        limit = max(
            1,
            int_or_percent(
                (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), len(current), round_up=False
            ),
        )
        old = sorted(
            (p for p in current.values() if (p["metadata"].get("labels") or {}).get(REVISION) != revision),
            key=lambda p: p["metadata"]["name"],
        )
        unavailable = sum(not pod_ready(p) for p in current.values() if p not in old)
        broken = [p for p in old if not pod_ready(p)]
        healthy = [p for p in old if pod_ready(p)]
        for pod in broken + healthy[: max(0, limit - unavailable)]:
            remove_pod(self.cluster, ds, pod)


def _target(pod: Obj) -> str:
    """The node a daemon pod is for: where it runs, or where its affinity pins it."""
    if spec_of(pod).get("nodeName"):
        return str(spec_of(pod)["nodeName"])
    terms = (
        ((spec_of(pod).get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms") or [{}]
    fields = terms[0].get("matchFields") or [{}]
    return str((fields[0].get("values") or [""])[0])


def _status(
    ds: Obj, eligible: set[str], current: dict[str, Obj], on_node: dict[str, list[Obj]], revision: str
) -> None:
    ready = sum(pod_ready(p) for p in current.values())
    status = {
        "observedGeneration": ds["metadata"].get("generation", 1),
        "desiredNumberScheduled": len(eligible),
        "currentNumberScheduled": len(current),
        "numberMisscheduled": len(set(on_node) - eligible),
        "numberReady": ready,
        "numberAvailable": ready,
        "numberUnavailable": len(eligible) - ready,
        "updatedNumberScheduled": sum(
            (p["metadata"].get("labels") or {}).get(REVISION) == revision for p in current.values()
        ),
    }
    for key in ("numberAvailable", "numberUnavailable", "updatedNumberScheduled"):
        if not status[key]:
            del status[key]
    ds["status"] = status
