"""The endpoints controller: a Service with a selector gets an Endpoints object listing its pods.

Ready pods are `addresses`, the others `notReadyAddresses`, each pointing at its pod; a named
targetPort is looked up among the pod's container ports. The Endpoints of a deleted Service
goes with it. Services without a selector keep whatever Endpoints their owner writes, except
`default/kubernetes`, whose addresses the API server keeps: the K3s servers that run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import (
    POD,
    SERVICE,
    Obj,
    deleting,
    pod_ready,
    selects,
    spec_of,
    update_if_changed,
)
from lab.k8s.controllers.endpointslices import api_server_slice, remove_slices, sync_slice
from lab.k8s.controllers.node_object import vm_ip
from lab.k8s.resources import BY_KIND

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

ENDPOINTS = BY_KIND["Endpoints"]
API_SERVER_PORT = {"name": "https", "port": 6443, "protocol": "TCP"}


def _target_port(port: Obj, pod: Obj) -> Any:
    target = port.get("targetPort", port.get("port"))
    if not isinstance(target, str):
        return target
    return next((p.get("containerPort") for c in spec_of(pod).get("containers") or []
                 for p in c.get("ports") or [] if p.get("name") == target), None)


def _address(pod: Obj, service: str) -> Obj:
    meta, spec = pod["metadata"], spec_of(pod)
    address = {"ip": pod["status"]["podIP"], "nodeName": spec.get("nodeName"),
               "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                             "uid": meta["uid"]}}
    if spec.get("hostname") and spec.get("subdomain") == service:  # a StatefulSet pod, its headless Service
        address["hostname"] = spec["hostname"]
    return address


def subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """EndpointSubsets: pods grouped by the ports they resolve to, ready ones apart from the rest."""
    groups: dict[tuple[Any, ...], Obj] = {}
    name = service["metadata"]["name"]
    for pod in sorted(pods, key=lambda p: p["status"]["podIP"]):
        ports = []
        for port in spec_of(service).get("ports") or []:
            target = _target_port(port, pod)
            if target is not None:
                entry = {"port": target, "protocol": port.get("protocol", "TCP")}
                ports.append({"name": port["name"], **entry} if port.get("name") else entry)
        key = tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
        subset = groups.setdefault(key, {"ports": ports} if ports else {})
        ready = "addresses" if pod_ready(pod) else "notReadyAddresses"
        subset.setdefault(ready, []).append(_address(pod, name))
    return list(groups.values())


def _slice_ports(service: Obj, pods: list[Obj]) -> list[Obj]:
    """EndpointPorts: each Service port at the port the first pod resolves it to (none without pods)."""
    ports = []
    for port in spec_of(service).get("ports") or [] if pods else []:
        target = _target_port(port, pods[0])
        if target is not None:
            protocol = port.get("protocol", "TCP")
            ports.append({"name": port.get("name", ""), "port": target, "protocol": protocol})
    return ports


class EndpointsController:
    watches = frozenset({"Service", "Pod"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self.managed: set[tuple[str, str]] = set()  # (namespace, name) of the Endpoints it keeps

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        seen = set()
        for svc in store.list(SERVICE):
            selector, meta = spec_of(svc).get("selector"), svc["metadata"]
            if not selector:
                continue
            key = (meta["namespace"], meta["name"])
            seen.add(key)
            pods = [p for p in store.list(POD, meta["namespace"])
                    if selects({"matchLabels": selector}, p["metadata"].get("labels"))
                    and (p.get("status") or {}).get("podIP") and not deleting(p)]
            body = {"subsets": subsets(svc, pods)} if pods else {}
            sync_slice(self.cluster, svc, pods, _slice_ports(svc, pods))
            current = store.find(ENDPOINTS, *key)
            if current is None:
                labels = dict(meta.get("labels") or {})
                store.create(ENDPOINTS, {"metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                                      **({"labels": labels} if labels else {})}, **body})
            else:
                update_if_changed(store, ENDPOINTS, current, lambda o, b=body: _replace_subsets(o, b))
        self._api_servers(now)
        for key in self.managed - seen:
            if store.find(ENDPOINTS, *key) is not None:
                store.remove(ENDPOINTS, *key)
            remove_slices(self.cluster, *key)
        self.managed = seen
        return None

    def _api_servers(self, now: float) -> None:
        """The API server's endpoint reconciler: `default/kubernetes` lists every live server."""
        cluster = self.cluster
        current = cluster.store.find(ENDPOINTS, "default", "kubernetes")
        if cluster.store.find(SERVICE, "default", "kubernetes") is None:
            return
        ips = sorted(vm_ip(vm) for vm in cluster.live_vms(now).values()
                     if cluster.joins[vm.name].role == "server")
        subset = {"addresses": [{"ip": ip} for ip in ips], "ports": [API_SERVER_PORT]}
        api_server_slice(cluster, ips, API_SERVER_PORT)
        body = {"subsets": [subset]} if ips else {}
        if current is None:
            labels = {"endpointslice.kubernetes.io/skip-mirror": "true"}
            meta = {"name": "kubernetes", "namespace": "default", "labels": labels}
            cluster.store.create(ENDPOINTS, {"metadata": meta, **body})
        else:
            update_if_changed(cluster.store, ENDPOINTS, current, lambda o: _replace_subsets(o, body))


def _replace_subsets(endpoints: Obj, body: Obj) -> None:
    endpoints.pop("subsets", None)
    endpoints.update(body)
