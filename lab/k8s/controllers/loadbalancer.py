"""MetalLB's controller: LoadBalancer Services get an address from an IPAddressPool.

Addresses are handed out only while a MetalLB controller pod is ready, lowest free first,
and the Service is annotated with the pool it came from, as MetalLB 0.14 does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import POD, SERVICE, Obj, pod_ready, spec_of, update_if_changed
from lab.k8s.crds import known

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

POOL = known("IPAddressPool")
POOL_ANNOTATION = "metallb.io/ip-allocated-from-pool"
_MAX_POOL = 1024  # addresses read from one entry; a homelab pool is a handful


def _addresses(entry: Any) -> Iterator[str]:
    try:
        if "-" in str(entry):
            first, last = (ipaddress.ip_address(p.strip()) for p in str(entry).split("-", 1))
            for n in range(int(last) - int(first) + 1)[:_MAX_POOL]:
                yield str(ipaddress.ip_address(int(first) + n))
        else:
            for n, ip in enumerate(ipaddress.ip_network(str(entry), strict=False)):
                if n >= _MAX_POOL:
                    return
                yield str(ip)
    except ValueError:
        return  # MetalLB refuses the pool; nothing from it


class MetalLbController:
    watches = frozenset({"Service", "IPAddressPool", "Pod"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        services = [s for s in store.list(SERVICE) if spec_of(s).get("type") == "LoadBalancer"]
        waiting = [s for s in services if not _ingress(s)]
        if not waiting or not any(_is_controller(p) for p in store.iter(POD)):
            return None
        used = {i.get("ip") for s in services for i in _ingress(s)}
        free = (
            (p["metadata"]["name"], ip)
            for p in store.list(POOL)
            if spec_of(p).get("autoAssign", True)
            for entry in spec_of(p).get("addresses") or []
            for ip in _addresses(entry)
            if ip not in used
        )
        for svc in waiting:
            picked = next(free, None)
            if picked is None:
                return None  # pool exhausted: the Service stays <pending>
            update_if_changed(store, SERVICE, svc, lambda o, p=picked: _assign(o, *p))
        return None


def _ingress(svc: Obj) -> list[Obj]:
    return (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []


def _is_controller(pod: Obj) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return (
        labels.get("app.kubernetes.io/name") == "metallb"
        and labels.get("app.kubernetes.io/component") == "controller"
        and pod_ready(pod)
    )


def _assign(svc: Obj, pool: str, ip: str) -> None:
    svc.setdefault("status", {})["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"}]}
    svc["metadata"].setdefault("annotations", {})[POOL_ANNOTATION] = pool
