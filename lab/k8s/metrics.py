"""The cluster as kube-state-metrics shows it to Prometheus (its metric and label names).

Conditions and phases are one series per possible value, 1 for the current one, as
kube-state-metrics writes them; that is what KubeNodeNotReady and friends select on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric

from lab.k8s.controllers.base import NODE, POD, Obj, controller_of, deleting, parse_time, spec_of

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
                condition.add_metric([name, cond["type"], status], float(status == current))
        for t in spec_of(node).get("taints") or []:
            taint.add_metric([name, t.get("key", ""), t.get("value", ""), t.get("effect", "")], 1.0)
        unschedulable.add_metric([name], float(bool(spec_of(node).get("unschedulable"))))
    yield from (condition, taint, unschedulable)
    yield from _pod_families(pods)


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
