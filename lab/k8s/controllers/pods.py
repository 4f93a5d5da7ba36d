"""Pods made from a controller's template, admitted like any created pod."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import POD, Obj, owner_ref, spec_of

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster


def pod_from_template(
    cluster: K8sCluster,
    owner: Obj,
    name: str,
    labels: dict[str, str] | None = None,
    spec: dict[str, Any] | None = None,
) -> Obj:
    """Create a pod owned by `owner` from its spec.template; `spec` overrides parts of the pod spec."""
    template = spec_of(owner).get("template") or {}
    meta = copy.deepcopy(template.get("metadata") or {})
    pod_meta: Obj = {
        "name": name,
        "namespace": owner["metadata"]["namespace"],
        "labels": {**(meta.get("labels") or {}), **(labels or {})},
        "ownerReferences": [owner_ref(owner)],
    }
    if meta.get("annotations"):
        pod_meta["annotations"] = meta["annotations"]
    pod = {"metadata": pod_meta, "spec": {**copy.deepcopy(template.get("spec") or {}), **(spec or {})}}
    created = cluster.create_pod(pod)
    kind, owner_name = owner["kind"], owner["metadata"]["name"]
    message = (
        f"create Pod {name} in StatefulSet {owner_name} successful"
        if kind == "StatefulSet"
        else f"Created pod: {name}"
    )
    cluster.recorder.record(owner, "Normal", "SuccessfulCreate", message, _COMPONENT[kind], cluster.clock())
    return created


def remove_pod(cluster: K8sCluster, owner: Obj, pod: Obj, grace: int | None = None) -> None:
    """A controller deletes one of its pods (gracefully unless `grace` is 0), and says so."""
    name, kind, owner_name = pod["metadata"]["name"], owner["kind"], owner["metadata"]["name"]
    cluster.delete_namespaced_pod(pod["metadata"]["namespace"], name, grace)
    message = (
        f"delete Pod {name} in StatefulSet {owner_name} successful"
        if kind == "StatefulSet"
        else f"Deleted pod: {name}"
    )
    cluster.recorder.record(owner, "Normal", "SuccessfulDelete", message, _COMPONENT[kind], cluster.clock())


_COMPONENT = {
    "ReplicaSet": "replicaset-controller",
    "StatefulSet": "statefulset-controller",
    "DaemonSet": "daemonset-controller",
    "Job": "job-controller",
}


def generated_name(cluster: K8sCluster, prefix: str) -> str:
    return f"{prefix}-{cluster.names.suffix(prefix)}"


def by_owner(cluster: K8sCluster) -> dict[str, list[Obj]]:
    """Pods grouped by the uid of their controller, in name order."""
    groups: dict[str, list[Obj]] = {}
    for pod in cluster.store.list(POD):
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("controller"):
                groups.setdefault(ref["uid"], []).append(pod)
    return groups
