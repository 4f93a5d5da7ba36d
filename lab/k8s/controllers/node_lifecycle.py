"""The node lifecycle controller: node health from heartbeats, and the taints that follow from it.

A node whose Lease and status have not moved for node-monitor-grace-period (50 s) gets its
conditions set to Unknown (`NodeStatusUnknown`, "Kubelet stopped posting node status."),
the unreachable taints and its pods marked not ready. Ready=False gives the not-ready
taints; a cordoned node carries the unschedulable taint (TaintNodesByCondition). When no
node at all is Ready ("master disruption mode") the NoExecute taints are withheld (and
lifted), so nothing is evicted until some node returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    LEASE,
    NODE,
    POD,
    Obj,
    condition,
    deleting,
    earliest,
    parse_time,
    set_condition,
    spec_of,
    timestamp,
    update_if_changed,
)
from lab.k8s.controllers.taints import NOT_READY, UNREACHABLE, UNSCHEDULABLE

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
_HEALTH_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
_MANAGED = (NOT_READY, UNREACHABLE, UNSCHEDULABLE)


class NodeLifecycle:
    watches = frozenset({"Node", "Lease"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store, grace = self.cluster.store, self.cluster.timings.node_monitor_grace_period
        wake = None
        for node in store.list(NODE):
            ready = condition(node, "Ready")
            if ready is not None and ready.get("status") != "Unknown":
                lease = store.find(LEASE, "kube-node-lease", node["metadata"]["name"])
                probe = max(
                    parse_time(ready.get("lastHeartbeatTime")) or 0.0,
                    parse_time(lease["spec"].get("renewTime")) if lease else 0.0,
                )
                if now >= probe + grace:
                    node = update_if_changed(store, NODE, node, lambda o: _unknown(o, now))
                    name = node["metadata"]["name"]
                    self.cluster.recorder.record(
                        node,
                        "Normal",
                        "NodeNotReady",
                        f"Node {name} status is now: NodeNotReady",
                        "node-controller",
                        now,
                    )
                    self._mark_pods_not_ready(name, now)
                else:
                    wake = earliest(wake, probe + grace)
        nodes = store.list(NODE)
        # every node down: the controller blames itself (its network) and stops evicting
        disrupted = bool(nodes) and all((condition(n, "Ready") or {}).get("status") != "True" for n in nodes)
        for node in nodes:
            update_if_changed(store, NODE, node, lambda o: _taints(o, now, disrupted))
        return wake

    def _mark_pods_not_ready(self, node: str, now: float) -> None:
        store = self.cluster.store
        for pod in store.list(POD):
            # (a terminating pod is left alone: any write would complete its deletion in the store)
            if (
                spec_of(pod).get("nodeName") == node
                and pod.get("status", {}).get("phase") == "Running"
                and not deleting(pod)
            ):
                self.cluster.recorder.record(
                    pod, "Warning", "NodeNotReady", "Node is not ready", "node-controller", now
                )
                update_if_changed(
                    store,
                    POD,
                    pod,
                    lambda o: set_condition(
                        o["status"].setdefault("conditions", []), "Ready", "False", now, probe=True
                    ),
                )


def _unknown(node: Obj, now: float) -> None:
    for cond in node["status"].get("conditions") or []:
        if cond.get("type") in _HEALTH_CONDITIONS and cond.get("status") != "Unknown":
            cond.update(
                status="Unknown",
                reason=UNKNOWN_REASON,
                message=UNKNOWN_MESSAGE,
                lastTransitionTime=timestamp(now),
            )


def _taints(node: Obj, now: float, disrupted: bool) -> None:
    ready = (condition(node, "Ready") or {}).get("status", "Unknown")
    effects = ("NoSchedule",) if disrupted else ("NoSchedule", "NoExecute")
    wanted = (
        {NOT_READY: effects} if ready == "False" else ({UNREACHABLE: effects} if ready == "Unknown" else {})
    )
    if spec_of(node).get("unschedulable"):
        wanted[UNSCHEDULABLE] = ("NoSchedule",)
    taints = spec_of(node).get("taints") or []
    kept = [t for t in taints if t.get("key") not in _MANAGED or t.get("effect") in wanted.get(t["key"], ())]
    for key, effects in wanted.items():
        for effect in effects:
            if not any(t.get("key") == key and t.get("effect") == effect for t in kept):
                kept.append({"key": key, "effect": effect, "timeAdded": timestamp(now)})
    if kept:
        node.setdefault("spec", {})["taints"] = kept
    elif "spec" in node:
        node["spec"].pop("taints", None)
