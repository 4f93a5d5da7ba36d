"""The NoExecute taint manager and the pod garbage collector's out-of-service rule.

A pod on a node with a NoExecute taint it does not tolerate is deleted; one that tolerates
it for `tolerationSeconds` (the 300 s defaults) is deleted when they run out. Deletion is
graceful, so on a dead node the pod stays Terminating; its controller replaces it unless
it is a StatefulSet pod (the name is still taken). On a node that is not ready and carries
`node.kubernetes.io/out-of-service`, terminating pods are force-deleted (PodGC), which lets
their volumes detach. Pods bound to a node that no longer exists are removed after 40 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    NODE,
    POD,
    Obj,
    deleting,
    earliest,
    node_ready,
    parse_time,
    set_condition,
    spec_of,
    update_if_changed,
)
from lab.k8s.controllers.taints import OUT_OF_SERVICE, node_taints, tolerates

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

ORPHAN_QUARANTINE = 40.0


class TaintEviction:
    watches = frozenset({"Node", "Pod"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self.orphaned_since: dict[str, float] = {}

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        nodes = {n["metadata"]["name"]: n for n in store.iter(NODE)}
        # only pods on a NoExecute-tainted node, or on no node at all, have anything to fear
        quiet = {
            name
            for name, n in nodes.items()
            if not any(t.get("effect") == "NoExecute" for t in node_taints(n))
        }
        wake = None
        for pod in store.list(POD):
            node_name = spec_of(pod).get("nodeName")
            if (
                not node_name
                or node_name in quiet
                or pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
            ):
                continue
            node = nodes.get(node_name)
            if node is None:
                wake = earliest(wake, self._orphan(pod, now))
                continue
            if deleting(pod):
                if not node_ready(node) and any(t.get("key") == OUT_OF_SERVICE for t in node_taints(node)):
                    _force_delete(self.cluster, pod)
                continue
            due = _eviction_due(pod, node, now)
            if due is not None and due <= now:
                self.cluster.evict_for_taint(pod, now)
            elif due is not None:
                wake = earliest(wake, due)
        return wake

    def _orphan(self, pod: Obj, now: float) -> float | None:
        key = pod["metadata"]["uid"]
        since = self.orphaned_since.setdefault(key, now)
        if now < since + ORPHAN_QUARANTINE:
            return since + ORPHAN_QUARANTINE
        _force_delete(self.cluster, pod)
        self.orphaned_since.pop(key, None)
        return None


def _eviction_due(pod: Obj, node: Obj, now: float) -> float | None:
    """When the pod must go because of the node's NoExecute taints (None: it may stay)."""
    due = None
    tolerations = spec_of(pod).get("tolerations") or []
    for taint in node_taints(node):
        if taint.get("effect") != "NoExecute":
            continue
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return now
        if all(isinstance(t.get("tolerationSeconds"), int) for t in matching):
            seconds = min(max(0, t["tolerationSeconds"]) for t in matching)
            due = earliest(due, (parse_time(taint.get("timeAdded")) or now) + seconds)
    return due


def _force_delete(cluster: K8sCluster, pod: Obj) -> None:
    def failed(o: Obj) -> None:
        o["status"]["phase"] = "Failed"
        set_condition(
            o["status"].setdefault("conditions", []),
            "DisruptionTarget",
            "True",
            cluster.clock(),
            "DeletionByPodGC",
            "PodGC: node no longer exists"
            if cluster.store.find(NODE, "", o["spec"]["nodeName"]) is None
            else "PodGC: node is out of service",
            probe=True,
        )

    pod = update_if_changed(cluster.store, POD, pod, failed)
    if cluster.store.find(POD, pod["metadata"]["namespace"], pod["metadata"]["name"]) is not None:
        cluster.store.remove(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
