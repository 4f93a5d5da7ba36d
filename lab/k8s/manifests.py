"""Builders for the workload objects the lab starts with and its charts install.

Objects come out as the API would hold them before controllers touch them: Deployments,
StatefulSets and DaemonSets selecting on app.kubernetes.io/name and /instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

# the pod spec of K3s' own addons: may run on tainted servers, before anything else
CRITICAL_ADDON: Obj = {
    "priorityClassName": "system-cluster-critical",
    "tolerations": [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        *(
            {"key": f"node-role.kubernetes.io/{role}", "operator": "Exists", "effect": "NoSchedule"}
            for role in ("control-plane", "master")
        ),
    ],
}


@dataclass
class Pods:
    """The pods of a workload: one container, its requests, and extra pod spec."""

    image: str
    app: str | None = None  # app.kubernetes.io/name; the workload's name by default
    instance: str | None = None  # app.kubernetes.io/instance; likewise
    cpu: str = "50m"
    memory: str = "64Mi"
    port: int | None = None
    spec: Obj = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def _workload(
    kind: str, name: str, namespace: str, pods: Pods, spec: Obj, mounts: list[Obj] | None = None
) -> Obj:
    selector = {
        "app.kubernetes.io/name": pods.app or name,
        "app.kubernetes.io/instance": pods.instance or name,
    }
    labels = {**selector, **pods.labels}
    container: Obj = {
        "name": pods.app or name,
        "image": pods.image,
        "resources": {"requests": {"cpu": pods.cpu, "memory": pods.memory}},
    }
    if pods.port:
        container["ports"] = [{"name": "http", "containerPort": pods.port, "protocol": "TCP"}]
    if mounts:
        container["volumeMounts"] = mounts
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": selector},
            **spec,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container], **pods.spec}},
        },
    }


def deployment(name: str, namespace: str, pods: Pods, replicas: int = 1) -> Obj:
    return _workload(
        "Deployment",
        name,
        namespace,
        pods,
        {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
        },
    )


def statefulset(
    name: str,
    namespace: str,
    pods: Pods,
    replicas: int = 1,
    claims: tuple[tuple[str, str], ...] = (),
    mount: str = "/data",
) -> Obj:
    templates = [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "ceph-rbd",
                "resources": {"requests": {"storage": size}},
                "volumeMode": "Filesystem",
            },
        }
        for claim, size in claims
    ]
    return _workload(
        "StatefulSet",
        name,
        namespace,
        pods,
        {
            "replicas": replicas,
            "serviceName": name,
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "volumeClaimTemplates": templates,
        },
        [{"name": claim, "mountPath": mount} for claim, _ in claims],
    )


def daemonset(name: str, namespace: str, pods: Pods) -> Obj:
    return _workload(
        "DaemonSet",
        name,
        namespace,
        pods,
        {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
    )


def service(
    name: str,
    namespace: str,
    selector: dict[str, str],
    port: int,
    *,
    kind: str = "ClusterIP",
    headless: bool = False,
) -> Obj:
    spec: Obj = {
        "type": kind,
        "selector": dict(selector),
        "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
    }
    if headless:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def pdb(name: str, namespace: str, selector: dict[str, str], min_available: int | str) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": dict(selector)}},
    }
