"""The ReplicaSet controller: keeps `replicas` active pods; terminating pods do not count."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    REPLICASET,
    Obj,
    deleting,
    pod_active,
    pod_ready,
    replicas,
    selects,
    spec_of,
    update_if_changed,
)
from lab.k8s.controllers.pods import by_owner, generated_name, pod_from_template, remove_pod

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster


def _deletion_rank(pod: Obj) -> tuple[int, int, int, str]:
    """Which pods a scale-down removes first: unscheduled, pending, not ready, then the newest."""
    phase = pod.get("status", {}).get("phase")
    return (
        int(bool(spec_of(pod).get("nodeName"))),
        int(phase == "Running"),
        int(pod_ready(pod)),
        "".join(chr(0x10FFFF - ord(c)) for c in pod["metadata"]["creationTimestamp"]),
    )


class ReplicaSetController:
    watches = frozenset({"ReplicaSet", "Pod"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store, owned = self.cluster.store, by_owner(self.cluster)
        for rs in store.list(REPLICASET):
            if deleting(rs):
                continue
            pods = [p for p in owned.get(rs["metadata"]["uid"], []) if pod_active(p)]
            want = replicas(rs)
            for _ in range(want - len(pods)):
                pods.append(
                    pod_from_template(self.cluster, rs, generated_name(self.cluster, rs["metadata"]["name"]))
                )
            for pod in sorted(pods, key=_deletion_rank)[: max(0, len(pods) - want)]:
                remove_pod(self.cluster, rs, pod)
                pods.remove(pod)
            update_if_changed(store, REPLICASET, rs, lambda o, pods=pods: _status(o, pods))
        return None


def _status(rs: Obj, pods: list[Obj]) -> None:
    ready = sum(pod_ready(p) for p in pods)
    labels = (spec_of(rs).get("template") or {}).get("metadata", {}).get("labels") or {}
    rs["status"] = {
        "replicas": len(pods),
        "observedGeneration": rs["metadata"].get("generation", 1),
        "fullyLabeledReplicas": sum(
            selects({"matchLabels": labels}, p["metadata"].get("labels")) for p in pods
        ),
        "readyReplicas": ready,
        "availableReplicas": ready,
    }
    for key in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
        if not rs["status"][key]:
            del rs["status"][key]  # zero counts are omitted on the wire (omitempty)
