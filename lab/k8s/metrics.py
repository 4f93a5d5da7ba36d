"""The cluster as kube-state-metrics shows it to Prometheus (its metric and label names).

Conditions and phases are one series per possible value, 1 for the current one, as
kube-state-metrics writes them; that is what KubeNodeNotReady and friends select on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric

from lab.k8s.controllers.base import (
    DAEMONSET,
    DEPLOYMENT,
    NODE,
    PDB,
    POD,
    STATEFULSET,
    Obj,
    Store,
    controller_of,
    deleting,
    parse_time,
    spec_of,
)

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

_STATUSES = ("true", "false", "unknown")
_PHASES = ("Pending", "Succeeded", "Failed", "Unknown", "Running")


def metric_families(cluster: K8sCluster, now: float) -> Iterator[Metric]:
    store = cluster.store
    nodes, pods = store.list(NODE), store.list(POD)
    condition = GaugeMetricFamily(
        "kube_node_status_condition",
        "The condition of a cluster node.",
        labels=["node", "condition", "status"],
    )
    taint = GaugeMetricFamily(
        "kube_node_spec_taint", "The taint of a cluster node.", labels=["node", "key", "value", "effect"]
    )
    unschedulable = GaugeMetricFamily(
        "kube_node_spec_unschedulable", "Whether a node can schedule new pods.", labels=["node"]
    )
    for node in nodes:
        name = node["metadata"]["name"]
        for cond in node.get("status", {}).get("conditions") or []:
            current = str(cond.get("status", "Unknown")).lower()
            for status in _STATUSES:
                condition.add_metric([name, str(cond.get("type", "")), status], float(status == current))
        for t in spec_of(node).get("taints") or []:
            taint.add_metric([name, t.get("key", ""), t.get("value", ""), t.get("effect", "")], 1.0)
        unschedulable.add_metric([name], float(bool(spec_of(node).get("unschedulable"))))
    yield from (condition, taint, unschedulable)
    yield from _pod_families(pods)
    yield from _workload_families(store)


def _pod_families(pods: list[Obj]) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "kube_pod_info",
        "Information about pod.",
        labels=[
            "namespace",
            "pod",
            "uid",
            "host_ip",
            "pod_ip",
            "node",
            "created_by_kind",
            "created_by_name",
            "priority_class",
            "host_network",
        ],
    )
    phase = GaugeMetricFamily(
        "kube_pod_status_phase", "The pods current phase.", labels=["namespace", "pod", "uid", "phase"]
    )
    ready = GaugeMetricFamily(
        "kube_pod_status_ready",
        "Describes whether the pod is ready to serve requests.",
        labels=["namespace", "pod", "uid", "condition"],
    )
    terminating = GaugeMetricFamily(
        "kube_pod_deletion_timestamp", "Unix deletion timestamp", labels=["namespace", "pod", "uid"]
    )
    for pod in pods:
        meta, spec, status = pod["metadata"], spec_of(pod), pod.get("status", {})
        key = [meta["namespace"], meta["name"], meta["uid"]]
        owner = controller_of(pod) or {}
        info.add_metric(
            [
                *key,
                status.get("hostIP", ""),
                status.get("podIP", ""),
                spec.get("nodeName", ""),
                owner.get("kind", ""),
                owner.get("name", ""),
                spec.get("priorityClassName", ""),
                str(bool(spec.get("hostNetwork"))).lower(),
            ],
            1.0,
        )
        for p in _PHASES:
            phase.add_metric([*key, p], float(status.get("phase") == p))
        cond = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        if cond is not None:
            current = str(cond.get("status", "Unknown")).lower()
            for s in _STATUSES:
                ready.add_metric([*key, s], float(s == current))
        if deleting(pod):
            terminating.add_metric(key, parse_time(meta["deletionTimestamp"]) or 0.0)
    yield from (info, phase, ready, terminating)


# (family, help, kind, label naming the object, where the value is read: spec.x or status.y)
_WORKLOADS = (
    (
        "kube_deployment_spec_replicas",
        "Number of desired pods for a deployment.",
        DEPLOYMENT,
        "deployment",
        "spec.replicas",
    ),
    (
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
        DEPLOYMENT,
        "deployment",
        "status.availableReplicas",
    ),
    (
        "kube_deployment_status_replicas_updated",
        "The number of updated replicas per deployment.",
        DEPLOYMENT,
        "deployment",
        "status.updatedReplicas",
    ),
    (
        "kube_statefulset_replicas",
        "Number of desired pods for a StatefulSet.",
        STATEFULSET,
        "statefulset",
        "spec.replicas",
    ),
    (
        "kube_statefulset_status_replicas_ready",
        "The number of ready replicas per StatefulSet.",
        STATEFULSET,
        "statefulset",
        "status.readyReplicas",
    ),
    (
        "kube_daemonset_status_desired_number_scheduled",
        "The number of nodes that should be running the daemon pod.",
        DAEMONSET,
        "daemonset",
        "status.desiredNumberScheduled",
    ),
    (
        "kube_daemonset_status_number_ready",
        "The number of nodes that should be running the daemon pod and have "
        "one or more of the daemon pod running and ready.",
        DAEMONSET,
        "daemonset",
        "status.numberReady",
    ),
    (
        "kube_poddisruptionbudget_status_current_healthy",
        "Current number of healthy pods",
        PDB,
        "poddisruptionbudget",
        "status.currentHealthy",
    ),
    (
        "kube_poddisruptionbudget_status_desired_healthy",
        "Minimum desired number of healthy pods",
        PDB,
        "poddisruptionbudget",
        "status.desiredHealthy",
    ),
    (
        "kube_poddisruptionbudget_status_pod_disruptions_allowed",
        "Number of pod disruptions that are currently allowed",
        PDB,
        "poddisruptionbudget",
        "status.disruptionsAllowed",
    ),
)


def _workload_families(store: Store) -> Iterator[Metric]:
    for name, doc, res, label, path in _WORKLOADS:
        family = GaugeMetricFamily(name, doc, labels=["namespace", label])
        part, field = path.split(".")
        for obj in store.list(res):
            value = (obj.get(part) or {}).get(field, 1 if field == "replicas" else 0)
            family.add_metric([obj["metadata"]["namespace"], obj["metadata"]["name"]], _number(value))
        yield family


def _number(value: object) -> float:
    try:
        return float(value or 0)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
