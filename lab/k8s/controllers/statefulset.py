"""The StatefulSet controller: stable pod names (name-0, name-1...), one PVC per replica from the
volumeClaimTemplates, pods made and removed one at a time (OrderedReady).

A pod that is still Terminating keeps its name taken, so on a dead node nothing replaces it
until the node returns or the pod is force-deleted (the out-of-service taint does that).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    POD,
    PVC,
    STATEFULSET,
    Obj,
    deleting,
    pod_active,
    pod_ready,
    replicas,
    spec_of,
    template_hash,
    update_if_changed,
)
from lab.k8s.controllers.pods import by_owner, pod_from_template, remove_pod

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

REVISION = "controller-revision-hash"


def _ordinal(sts: Obj, pod: Obj) -> int | None:
    prefix, _, index = pod["metadata"]["name"].rpartition("-")
    return int(index) if prefix == sts["metadata"]["name"] and index.isdigit() else None


class StatefulSetController:
    watches = frozenset({"StatefulSet", "Pod", "PersistentVolumeClaim"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        owned = by_owner(self.cluster)
        for sts in self.cluster.store.list(STATEFULSET):
            if not deleting(sts):
                self._sync(sts, owned.get(sts["metadata"]["uid"], []))
        return None

    def _sync(self, sts: Obj, pods: list[Obj]) -> None:
        name, want = sts["metadata"]["name"], replicas(sts)
        revision = f"{name}-{template_hash(spec_of(sts).get('template'))}"
        by_ordinal = {i: p for p in pods if (i := _ordinal(sts, p)) is not None}
        ordered = spec_of(sts).get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        for i in range(want):
            pod = by_ordinal.get(i)
            if pod is None:
                by_ordinal[i] = self._create(sts, i, revision)
                if ordered:
                    break
            elif pod.get("status", {}).get("phase") in ("Failed", "Succeeded") and not deleting(pod):
                remove_pod(self.cluster, sts, pod, 0)
                break
            elif ordered and not (pod_active(pod) and pod_ready(pod)):
                break
        else:
            self._scale_down_or_update(sts, by_ordinal, want, revision)
        live = [
            p
            for p in by_ordinal.values()
            if p
            and self.cluster.store.find(POD, p["metadata"]["namespace"], p["metadata"]["name"]) is not None
        ]
        update_if_changed(self.cluster.store, STATEFULSET, sts, lambda o: _status(o, live, revision))

    def _scale_down_or_update(self, sts: Obj, by_ordinal: dict[int, Obj], want: int, revision: str) -> None:
        if any(deleting(p) for p in by_ordinal.values()):
            return  # one at a time
        extra = sorted((i for i in by_ordinal if i >= want), reverse=True)
        outdated = sorted(
            (
                i
                for i, p in by_ordinal.items()
                if i < want and (p["metadata"].get("labels") or {}).get(REVISION) != revision
            ),
            reverse=True,
        )
        strategy = (spec_of(sts).get("updateStrategy") or {}).get("type", "RollingUpdate")
        victim = extra[0] if extra else (outdated[0] if outdated and strategy == "RollingUpdate" else None)
        if victim is not None and all(pod_ready(p) for p in by_ordinal.values()):
            pod = by_ordinal[victim]
            remove_pod(self.cluster, sts, pod)

    def _create(self, sts: Obj, ordinal: int, revision: str) -> Obj:
        store, ns, name = self.cluster.store, sts["metadata"]["namespace"], sts["metadata"]["name"]
        pod_name = f"{name}-{ordinal}"
        volumes = [v for v in (spec_of(sts).get("template") or {}).get("spec", {}).get("volumes") or []]
        for claim in spec_of(sts).get("volumeClaimTemplates") or []:
            if not isinstance(claim, dict) or not (claim.get("metadata") or {}).get("name"):
                continue  # the API server refuses these; nothing to make
            claim_name = f"{claim['metadata']['name']}-{pod_name}"
            if store.find(PVC, ns, claim_name) is None:
                labels = {
                    **(claim["metadata"].get("labels") or {}),
                    **((spec_of(sts).get("selector") or {}).get("matchLabels") or {}),
                }
                store.create(
                    PVC,
                    {
                        "metadata": {"name": claim_name, "namespace": ns, "labels": labels},
                        "spec": {"volumeMode": "Filesystem", **copy.deepcopy(claim.get("spec") or {})},
                        "status": {"phase": "Pending"},
                    },
                )
            volumes = [v for v in volumes if v.get("name") != claim["metadata"]["name"]]
            volumes.append(
                {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}}
            )
        spec = {"hostname": pod_name, "volumes": volumes}
        if spec_of(sts).get("serviceName"):
            spec["subdomain"] = spec_of(sts)["serviceName"]
        labels = {
            REVISION: revision,
            "statefulset.kubernetes.io/pod-name": pod_name,
            "apps.kubernetes.io/pod-index": str(ordinal),
        }
        return pod_from_template(self.cluster, sts, pod_name, labels, spec)


def _status(sts: Obj, pods: list[Obj], revision: str) -> None:
    active = [p for p in pods if pod_active(p)]
    updated = sum((p["metadata"].get("labels") or {}).get(REVISION) == revision for p in active)
    ready = sum(pod_ready(p) for p in active)
    sts["status"] = {
        "observedGeneration": sts["metadata"].get("generation", 1),
        "replicas": len(active),
        "readyReplicas": ready,
        "currentReplicas": updated,
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
        if not sts["status"][key]:
            del sts["status"][key]
