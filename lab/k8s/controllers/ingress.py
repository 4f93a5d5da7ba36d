"""Traefik's ingress status: an Ingress of its class gets the address of Traefik's LoadBalancer Service.

K3s' Traefik publishes `kube-system/traefik` (providers.kubernetesIngress.publishedService),
so every Ingress whose class is `traefik` (or that names none while `traefik` is the default
IngressClass) carries that Service's `status.loadBalancer`; with no Traefik, nothing does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import SERVICE, Obj, spec_of, update_if_changed
from lab.k8s.resources import BY_KIND

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

INGRESS, INGRESSCLASS = BY_KIND["Ingress"], BY_KIND["IngressClass"]
CONTROLLER = "traefik.io/ingress-controller"
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"


class IngressController:
    watches = frozenset({"Ingress", "IngressClass", "Service"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        classes = [c for c in store.list(INGRESSCLASS) if spec_of(c).get("controller") == CONTROLLER]
        mine = {c["metadata"]["name"] for c in classes}
        default = next((c["metadata"]["name"] for c in classes
                        if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"), None)
        service = store.find(SERVICE, "kube-system", "traefik")
        published = [{"ip": i["ip"]} for i in ((service or {}).get("status") or {}).get("loadBalancer", {})
                     .get("ingress") or [] if i.get("ip")]
        for ingress in store.list(INGRESS):
            name = spec_of(ingress).get("ingressClassName") or default
            wanted = published if name in mine else []
            update_if_changed(store, INGRESS, ingress, lambda o, w=wanted: _publish(o, w))
        return None


def _publish(ingress: Obj, addresses: list[Obj]) -> None:
    ingress["status"] = {"loadBalancer": {"ingress": addresses} if addresses else {}}
