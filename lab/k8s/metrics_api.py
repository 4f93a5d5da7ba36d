"""metrics.k8s.io: what metrics-server serves, so `kubectl top` works on the lab.

The API is aggregated: it answers only while a metrics-server pod is Running and Ready (on a
real cluster the APIService turns unavailable and kubectl says "Metrics API not available").
Figures come from the lab's own model: a container uses a steady share of its request (or a
few millicores and MiB without one), a node uses the sum of its pods plus the system's
share (kubelet, containerd, K3s); the same figures at every read within a window.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import NODE, POD, quantity, spec_of
from lab.k8s.errors import K8sError, NotFound
from lab.k8s.resources import Resource
from lab.k8s.store import timestamp

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

Obj = dict[str, Any]
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
NODE_METRICS = Resource(GROUP, VERSION, "nodes", "NodeMetrics", False)
POD_METRICS = Resource(GROUP, VERSION, "pods", "PodMetrics", True)
RESOURCES = (NODE_METRICS, POD_METRICS)
VERBS = ["get", "list"]
WINDOW = 15.0  # metrics-server's --metric-resolution
SYSTEM = (0.12, 420 * 1024**2)  # cores and bytes the node's own daemons use


class ServiceUnavailable(K8sError):
    reason, code = "ServiceUnavailable", 503


def available(cluster: K8sCluster) -> bool:
    """The APIService is Available while a metrics-server pod is Running and Ready."""
    return any("metrics-server" in (pod["metadata"].get("labels", {}).get("k8s-app"),
                                   pod["metadata"].get("labels", {}).get("app.kubernetes.io/name"))
               and pod.get("status", {}).get("phase") == "Running"
               and any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in pod["status"].get("conditions") or [])
               for pod in cluster.store.iter(POD))


def _share(seed: str) -> float:
    """A steady share in [0.25, 0.85) for one container: the same reading every scrape."""
    return 0.25 + 0.6 * int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) / 0x1_0000_0000


def _container_usage(pod: Obj, container: Obj) -> tuple[float, float]:
    requests = (container.get("resources") or {}).get("requests") or {}
    share = _share(f"{pod['metadata'].get('uid', '')}/{container.get('name', '')}")
    cpu = quantity(requests.get("cpu")) or 0.005
    memory = quantity(requests.get("memory")) or 12 * 1024**2
    return cpu * share, memory * share


def _cpu(cores: float) -> str:
    return f"{int(cores * 1e9)}n"


def _memory(size: float) -> str:
    return f"{int(size // 1024)}Ki"


def _running(pod: Obj) -> bool:
    return pod.get("status", {}).get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")


def _stamp(now: float) -> str:
    return timestamp(now - now % WINDOW)


def pod_metrics(pod: Obj, now: float) -> Obj:
    meta = pod["metadata"]
    containers = []
    for c in spec_of(pod).get("containers") or []:
        cpu, memory = _container_usage(pod, c)
        containers.append({"name": c.get("name", ""), "usage": {"cpu": _cpu(cpu), "memory": _memory(memory)}})
    return {"kind": "PodMetrics", "apiVersion": f"{GROUP}/{VERSION}",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "creationTimestamp": timestamp(now), "labels": meta.get("labels", {})},
            "timestamp": _stamp(now), "window": f"{WINDOW:.0f}s", "containers": containers}


def node_metrics(cluster: K8sCluster, node: Obj, now: float) -> Obj:
    name = node["metadata"]["name"]
    cpu, memory = SYSTEM
    for pod in cluster.store.iter(POD):
        if spec_of(pod).get("nodeName") == name and _running(pod):
            for c in spec_of(pod).get("containers") or []:
                c_cpu, c_memory = _container_usage(pod, c)
                cpu, memory = cpu + c_cpu, memory + c_memory
    return {"kind": "NodeMetrics", "apiVersion": f"{GROUP}/{VERSION}",
            "metadata": {"name": name, "creationTimestamp": timestamp(now),
                         "labels": node["metadata"].get("labels", {})},
            "timestamp": _stamp(now), "window": f"{WINDOW:.0f}s",
            "usage": {"cpu": _cpu(cpu), "memory": _memory(memory)}}


def check(cluster: K8sCluster) -> None:
    if not available(cluster):
        raise ServiceUnavailable("the server is currently unable to handle the request")


def list_node_metrics(cluster: K8sCluster, now: float) -> list[Obj]:
    """Nodes whose kubelet metrics-server can scrape: the live ones (a dead node has no metrics)."""
    check(cluster)
    live = cluster.live_nodes(now)
    return [node_metrics(cluster, n, now) for n in cluster.store.list(NODE) if n["metadata"]["name"] in live]


def read_node_metrics(cluster: K8sCluster, name: str, now: float) -> Obj:
    found = next((m for m in list_node_metrics(cluster, now) if m["metadata"]["name"] == name), None)
    if found is None:
        raise NotFound.of("nodes", name, GROUP)
    return found


def list_pod_metrics(cluster: K8sCluster, namespace: str | None, now: float) -> list[Obj]:
    check(cluster)
    live = cluster.live_nodes(now)
    return [pod_metrics(p, now) for p in cluster.store.list(POD)
            if (namespace is None or p["metadata"]["namespace"] == namespace)
            and _running(p) and spec_of(p).get("nodeName") in live]


def read_pod_metrics(cluster: K8sCluster, namespace: str, name: str, now: float) -> Obj:
    listed = list_pod_metrics(cluster, namespace, now)
    found = next((m for m in listed if m["metadata"]["name"] == name), None)
    if found is None:
        raise NotFound.of("pods", name, GROUP)
    return found


def discovery_list() -> Obj:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{GROUP}/{VERSION}",
            "resources": [{"name": r.plural, "singularName": "", "namespaced": r.namespaced, "kind": r.kind,
                           "verbs": VERBS} for r in RESOURCES]}
