"""EndpointSlices kept beside Endpoints, as the EndpointSlice controller does (one slice per Service).

A slice is named after its Service with a random suffix, labelled with the service name and
`endpointslice-controller.k8s.io`, owned by the Service, and lists each pod's IP with its
ready/serving/terminating conditions, node and zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import NODE, Obj, deleting, owner_ref, pod_ready, spec_of, update_if_changed
from lab.k8s.resources import BY_KIND

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

ENDPOINTSLICE = BY_KIND["EndpointSlice"]
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
MANAGER = "endpointslice-controller.k8s.io"


def _endpoint(pod: Obj, zones: dict[str, str]) -> Obj:
    meta, node = pod["metadata"], spec_of(pod).get("nodeName")
    ready = pod_ready(pod) and not deleting(pod)
    endpoint: dict[str, Any] = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": ready, "serving": pod_ready(pod), "terminating": deleting(pod)},
        "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                      "uid": meta["uid"]},
    }
    if node:
        endpoint["nodeName"] = node
        if node in zones:
            endpoint["zone"] = zones[node]
    return endpoint


def sync_slice(cluster: K8sCluster, service: Obj, pods: list[Obj], ports: list[Obj]) -> None:
    """Create or update the Service's slice from the pods its selector picks."""
    store, meta = cluster.store, service["metadata"]
    zones = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone", "")
             for n in store.iter(NODE)}
    ordered = sorted(pods, key=lambda p: p["status"]["podIP"])
    body: Obj = {"addressType": "IPv4", "endpoints": [_endpoint(p, zones) for p in ordered]}
    if ports:
        body["ports"] = ports
    current = next((s for s in store.list(ENDPOINTSLICE, meta["namespace"])
                    if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == meta["name"]), None)
    if current is None:
        name = f"{meta['name']}-{cluster.names.suffix(meta['name'])}"
        labels = {**(meta.get("labels") or {}), SERVICE_NAME: meta["name"], MANAGED_BY: MANAGER}
        slice_meta = {"name": name, "namespace": meta["namespace"], "labels": labels,
                      "ownerReferences": [owner_ref(service)]}
        store.create(ENDPOINTSLICE, {"metadata": slice_meta, **body})
    else:
        update_if_changed(store, ENDPOINTSLICE, current, lambda o: _replace(o, body))


def _replace(current: Obj, body: Obj) -> None:
    current.pop("ports", None)
    current.update(body)


def remove_slices(cluster: K8sCluster, namespace: str, service: str) -> None:
    for s in cluster.store.list(ENDPOINTSLICE, namespace):
        labels = s["metadata"].get("labels") or {}
        if labels.get(SERVICE_NAME) == service and labels.get(MANAGED_BY) == MANAGER:
            cluster.store.remove(ENDPOINTSLICE, namespace, s["metadata"]["name"])


def api_server_slice(cluster: K8sCluster, ips: list[str], port: Obj) -> None:
    """`default/kubernetes`'s slice, which the API server's endpoint reconciler keeps with its Endpoints."""
    store = cluster.store
    body: Obj = {"addressType": "IPv4", "ports": [port],
                 "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}
    current = store.find(ENDPOINTSLICE, "default", "kubernetes")
    if current is None:
        meta = {"name": "kubernetes", "namespace": "default", "labels": {SERVICE_NAME: "kubernetes"}}
        store.create(ENDPOINTSLICE, {"metadata": meta, **body})
    else:
        update_if_changed(store, ENDPOINTSLICE, current, lambda o: _replace(o, body))
