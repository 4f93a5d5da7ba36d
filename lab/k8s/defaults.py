"""What the API server adds on create: defaulted fields, admission plugins' tolerations, reset status.

Only the defaults a client of the homelab would read back are filled in; a Pod gets the
same admission as the pods the controllers make (restart policy, grace period, the 300 s
not-ready/unreachable tolerations).
"""

from __future__ import annotations

from typing import Any

from lab.k8s.controllers.admission import admit_pod

Obj = dict[str, Any]

# PrepareForCreate of each registry strategy: status the client sent is replaced by this
# (kinds not listed keep what was sent: a kubelet registers its Node with its status).
STATUS_ON_CREATE: dict[str, Obj | None] = {
    "Pod": {"phase": "Pending"},
    "Namespace": {"phase": "Active"},
    "Service": {"loadBalancer": {}},
    "PersistentVolume": {"phase": "Pending"},
    "PersistentVolumeClaim": {"phase": "Pending"},
    "Deployment": {}, "ReplicaSet": {"replicas": 0}, "StatefulSet": {"replicas": 0,
                                                                      "availableReplicas": 0},
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                  "numberReady": 0},
    "PodDisruptionBudget": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                            "expectedPods": 0},
    "VolumeAttachment": None, "CustomResourceDefinition": None, "HelmChart": None, "ClusterIssuer": None,
}


def _workload(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if obj["kind"] != "DaemonSet":
        spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    if obj["kind"] == "Deployment":
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})


def on_create(kind: str, obj: Obj) -> None:
    """Fill in what the server would, in place."""
    if kind in STATUS_ON_CREATE:
        status = STATUS_ON_CREATE[kind]
        if status is None:
            obj.pop("status", None)
        else:
            obj["status"] = dict(status)
    if kind == "Pod":
        obj.update(admit_pod(obj))
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        _workload(obj)
    elif kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        name = obj["metadata"].get("name", "")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
