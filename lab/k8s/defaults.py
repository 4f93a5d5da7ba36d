"""What the API server adds on create: defaulted fields, admission plugins' tolerations, reset status.

Only the defaults a client of the homelab would read back are filled in; a Pod gets the
same admission as the pods the controllers make (restart policy, grace period, the
not-ready/unreachable tolerations for the scenario's `pod_eviction_toleration`).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Any

from lab.k8s.controllers.admission import admit_pod
from lab.k8s.errors import Invalid

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
    "Job": {}, "Ingress": {"loadBalancer": {}}, "VolumeAttachment": None, "Certificate": None,
    "CustomResourceDefinition": None, "HelmChart": None, "ClusterIssuer": None,
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


def _job(obj: Obj) -> None:
    """SetDefaults_Job, and the selector and labels the Job strategy makes of the uid."""
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    meta = obj["metadata"]
    name = meta.get("name", "")
    ids = {"batch.kubernetes.io/controller-uid": meta["uid"], "batch.kubernetes.io/job-name": name,
           "controller-uid": meta["uid"], "job-name": name}
    template = spec.setdefault("template", {})
    template_spec = template.setdefault("spec", {})
    template_spec.setdefault("restartPolicy", "Always")
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": meta["uid"]}}
        template.setdefault("metadata", {}).setdefault("labels", {}).update(ids)
    if not meta.get("labels"):
        meta["labels"] = dict((template.get("metadata") or {}).get("labels") or {})


def on_create(kind: str, obj: Obj, toleration_seconds: int) -> None:
    """Fill in what the server would, in place; `toleration_seconds` is DefaultTolerationSeconds'."""
    if kind in STATUS_ON_CREATE:
        status = STATUS_ON_CREATE[kind]
        if status is None:
            obj.pop("status", None)
        else:
            obj["status"] = dict(status)
    if kind == "Pod":
        obj.update(admit_pod(obj, toleration_seconds))
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        _workload(obj)
    elif kind == "Job":
        _job(obj)
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        name = obj["metadata"].get("name", "")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name


def on_update(kind: str, obj: Obj) -> None:
    """Defaulting runs on every write's object: a field a patch or an apply removed comes back defaulted
    (a Deployment whose applier drops `replicas` has 1)."""
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        _workload(obj)


SERVICE_CIDR = ipaddress.ip_network("10.43.0.0/16")  # K3s' default --service-cidr
NODE_PORTS = range(30000, 32768)


def _free(taken: set[int], candidates: range, seed: str) -> int:
    """A free value, probing from a point derived from `seed` (the allocators pick at random)."""
    start = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(candidates)
    for i in range(len(candidates)):
        value = candidates[(start + i) % len(candidates)]
        if value not in taken:
            return value
    raise Invalid("spec.clusterIP: Internal error: range is full")


def service(obj: Obj, existing: Iterable[Obj]) -> None:
    """The Service REST storage's allocations: a cluster IP and, for NodePort/LoadBalancer, node ports."""
    spec = obj.setdefault("spec", {})
    kind = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if kind == "ExternalName":
        return
    others = [o.get("spec", {}) for o in existing]
    seed = f"{obj['metadata'].get('namespace')}/{obj['metadata'].get('name')}"
    if not spec.get("clusterIP"):
        base = int(SERVICE_CIDR.network_address)
        taken = {int(ipaddress.ip_address(s["clusterIP"])) - base for s in others
                 if s.get("clusterIP") not in (None, "", "None")}
        spec["clusterIP"] = str(SERVICE_CIDR[_free(taken, range(10, SERVICE_CIDR.num_addresses - 1), seed)])
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    if spec["clusterIP"] != "None":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
        used = {p.get("nodePort") for s in others for p in s.get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                port["nodePort"] = _free(used, NODE_PORTS, f"{seed}:{port.get('port')}")
                used.add(port["nodePort"])
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def storage_class(claim: Obj, classes: Iterable[Obj]) -> None:
    """The DefaultStorageClass admission plugin: a claim that names no class gets the default one."""
    spec = claim.setdefault("spec", {})
    if spec.get("storageClassName") is not None:
        return
    marked = [c for c in classes if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"]
    defaults = sorted(marked, key=lambda c: c["metadata"].get("creationTimestamp", ""), reverse=True)
    if defaults:  # the newest default wins, as the plugin picks it
        spec["storageClassName"] = defaults[0]["metadata"]["name"]
