"""The garbage collector's background part: objects whose owners are all gone are deleted.

(The API server's DELETE cascades at once; this catches what controllers delete, such as
the Deployments a Helm uninstall removes.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import DAEMONSET, DEPLOYMENT, JOB, LEASE, NODE, POD, REPLICASET, STATEFULSET

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

_OWNERS = (DEPLOYMENT, REPLICASET, STATEFULSET, DAEMONSET, NODE, JOB)
_DEPENDENTS = (REPLICASET, POD, LEASE)


class GarbageCollector:
    watches = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Node", "Job"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        kinds = {r.kind for r in _OWNERS}
        uids = {o["metadata"]["uid"] for r in _OWNERS for o in store.iter(r)}
        for res in _DEPENDENTS:
            for obj in store.list(res):
                refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("kind") in kinds]
                if refs and not any(r.get("uid") in uids for r in refs):
                    self.cluster.delete(res, obj)
        return None
