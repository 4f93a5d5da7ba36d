"""Builders for the workload objects the lab starts with and its charts install.

Objects come out as the API would hold them before controllers touch them: Deployments,
StatefulSets and DaemonSets with a selector on app.kubernetes.io/name and /instance.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def _labels(name: str, instance: str, extra: dict[str, str] | None) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": instance, **(extra or {})}


def _container(name: str, image: str, cpu: str, memory: str, port: int | None) -> Obj:
    c: Obj = {"name": name, "image": image, "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    if port:
        c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    return c


def _template(labels: dict[str, str], container: Obj, pod: Obj | None) -> Obj:
    return {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container], **(pod or {})}}


def _meta(name: str, namespace: str, labels: dict[str, str], meta: Obj | None) -> Obj:
    out: Obj = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if meta and meta.get("annotations"):
        out["annotations"] = dict(meta["annotations"])
    if meta and meta.get("labels"):
        out["labels"].update(meta["labels"])
    return out


def deployment(
    name: str,
    namespace: str,
    image: str,
    replicas: int = 1,
    *,
    app: str | None = None,
    instance: str | None = None,
    cpu: str = "50m",
    memory: str = "64Mi",
    port: int | None = 80,
    pod: Obj | None = None,
    meta: Obj | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    selector = _labels(app or name, instance or name, None)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, {**selector, **(labels or {})}, meta),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": _template(
                {**selector, **(labels or {})}, _container(app or name, image, cpu, memory, port), pod
            ),
        },
    }


def statefulset(
    name: str,
    namespace: str,
    image: str,
    replicas: int = 1,
    *,
    app: str | None = None,
    instance: str | None = None,
    cpu: str = "100m",
    memory: str = "256Mi",
    port: int | None = None,
    claims: list[tuple[str, str]] = (),
    mount: str = "/data",
    storage_class: str = "ceph-rbd",
    pod: Obj | None = None,
    meta: Obj | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    selector = _labels(app or name, instance or name, None)
    container = _container(app or name, image, cpu, memory, port)
    if claims:
        container["volumeMounts"] = [{"name": claim, "mountPath": mount} for claim, _ in claims]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(name, namespace, {**selector, **(labels or {})}, meta),
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": selector},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "template": _template({**selector, **(labels or {})}, container, pod),
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": storage_class,
                        "resources": {"requests": {"storage": size}},
                        "volumeMode": "Filesystem",
                    },
                }
                for claim, size in claims
            ],
        },
    }


def daemonset(
    name: str,
    namespace: str,
    image: str,
    *,
    app: str | None = None,
    instance: str | None = None,
    cpu: str = "20m",
    memory: str = "32Mi",
    port: int | None = None,
    host_network: bool = False,
    tolerations: list[Obj] | None = None,
    meta: Obj | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    selector = _labels(app or name, instance or name, None)
    pod: Obj = {"hostNetwork": True} if host_network else {}
    if tolerations:
        pod["tolerations"] = tolerations
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta(name, namespace, {**selector, **(labels or {})}, meta),
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": _template(
                {**selector, **(labels or {})}, _container(app or name, image, cpu, memory, port), pod
            ),
        },
    }


def service(
    name: str,
    namespace: str,
    selector: dict[str, str],
    port: int,
    *,
    kind: str = "ClusterIP",
    headless: bool = False,
    meta: Obj | None = None,
) -> Obj:
    spec: Obj = {
        "type": kind,
        "selector": dict(selector),
        "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
    }
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace, {}, meta), "spec": spec}


def pdb(name: str, namespace: str, selector: dict[str, str], min_available: int | str) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": dict(selector)}},
    }
