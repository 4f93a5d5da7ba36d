"""The default scheduler: binds pending pods to the best node that passes kube-scheduler's
filters (placement.py). Scores prefer fewer matching pods in the ScheduleAnyway domains,
fewer siblings on the node and in the zone, then the least allocated. A pod that fits
nowhere gets PodScheduled=False with the scheduler's message and waits in the
unschedulable queue; the binding subresource is here too.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    NODE,
    POD,
    PVC,
    STATUS_SUCCESS,
    Obj,
    Store,
    condition,
    controller_of,
    deleting,
    pvc_names,
    set_condition,
    spec_of,
    update_if_changed,
)
from lab.k8s.controllers.placement import (
    ZONE,
    PlacedNode,
    Spread,
    account,
    node_filter,
    placed_node,
    scoring_requests,
    to_int,
    unschedulable_message,
)
from lab.k8s.errors import Conflict, Invalid

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

UNSCHEDULABLE_FLUSH = 30.0  # kube-scheduler retries its unschedulable queue at least this often


def bind_pod(store: Store, pod: Obj, node: str, now: float) -> Obj:
    def bind(o: Obj) -> None:
        o["spec"]["nodeName"] = node
        set_condition(
            o.setdefault("status", {}).setdefault("conditions", []), "PodScheduled", "True", now, probe=True
        )

    return update_if_changed(store, POD, pod, bind)


def create_namespaced_pod_binding(cluster: K8sCluster, namespace: str, name: str, body: Obj) -> Obj:
    """POST pods/NAME/binding: what a scheduler (kube-scheduler or anyone) uses to place a pod."""
    target = body.get("target") if isinstance(body, dict) else None
    node = target.get("name") if isinstance(target, dict) else None
    if not node or target.get("kind", "Node") not in ("Node", ""):
        raise Invalid(f'Binding "{name}" is invalid: target.name: Required value')
    pod = cluster.store.get(POD, namespace, name)
    if deleting(pod):
        raise Conflict(
            f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is being deleted, '
            "cannot be assigned to a host"
        )
    if spec_of(pod).get("nodeName"):
        raise Conflict(
            f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already assigned '
            f'to node "{spec_of(pod)["nodeName"]}"'
        )
    bind_pod(cluster.store, pod, node, cluster.clock())
    return dict(STATUS_SUCCESS)


class Scheduler:
    watches = frozenset({"Pod", "Node", "PersistentVolumeClaim"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster
        self._flush: float | None = None  # when pods left unschedulable are tried again anyway

    def run(self, now: float) -> float | None:
        store = self.cluster.store
        pods = store.list(POD)
        pending = [
            p
            for p in pods
            if not spec_of(p).get("nodeName")
            and not deleting(p)
            and p.get("status", {}).get("phase") == "Pending"
            and spec_of(p).get("schedulerName", "default-scheduler") == "default-scheduler"
        ]
        if not self._retry_unschedulable(pending):
            # the unschedulable queue: a pod that did not fit waits for a change that may make room
            pending = [p for p in pending if (condition(p, "PodScheduled") or {}).get("status") != "False"]
        if not pending:
            return self._flush
        nodes = {n["metadata"]["name"]: placed_node(n) for n in store.list(NODE)}
        placed = [
            p
            for p in pods
            if spec_of(p).get("nodeName") in nodes
            and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
        ]
        for p in placed:
            account(nodes[spec_of(p)["nodeName"]], p)
        pending.sort(
            key=lambda p: (
                -to_int(spec_of(p).get("priority"), 0),
                p["metadata"]["creationTimestamp"],
                p["metadata"]["namespace"],
                p["metadata"]["name"],
            )
        )
        for pod in pending:
            target = self._place(pod, nodes, placed)
            if isinstance(target, str):
                marked = update_if_changed(
                    store,
                    POD,
                    pod,
                    lambda o, m=target: set_condition(
                        o["status"].setdefault("conditions", []),
                        "PodScheduled",
                        "False",
                        now,
                        "Unschedulable",
                        m,
                        probe=True,
                    ),
                )
                if marked is not pod:  # a new reason: the scheduler says it once
                    self.cluster.recorder.record(
                        pod, "Warning", "FailedScheduling", target, "default-scheduler", now
                    )
                continue
            bound = bind_pod(store, pod, target.name, now)
            name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            self.cluster.recorder.record(
                bound,
                "Normal",
                "Scheduled",
                f"Successfully assigned {name} to {target.name}",
                "default-scheduler",
                now,
            )
            account(target, bound)
            placed.append(bound)
        waiting = any((condition(p, "PodScheduled") or {}).get("status") == "False" for p in pending)
        self._flush = now + UNSCHEDULABLE_FLUSH if waiting else None
        return self._flush

    def _retry_unschedulable(self, pending: list[Obj]) -> bool:
        """Nodes, claims or a removed pod may have made room; or it is time to flush the queue."""
        changed, store = self.cluster.changed, self.cluster.store
        if self.cluster.full or changed.keys() & {"Node", "PersistentVolumeClaim"}:
            return True
        if self._flush is not None and self.cluster.clock() >= self._flush:
            return True
        return any(
            store.find(POD, *key) is None or deleting(store.get(POD, *key)) for key in changed.get("Pod", ())
        )

    def _place(self, pod: Obj, nodes: dict[str, PlacedNode], placed: list[Obj]) -> PlacedNode | str:
        total = len(nodes)
        for claim in pvc_names(pod):
            pvc = self.cluster.store.find(PVC, pod["metadata"]["namespace"], claim)
            if pvc is None:
                return unschedulable_message(total, f'persistentvolumeclaim "{claim}" not found')
            if pvc.get("status", {}).get("phase") != "Bound":
                return unschedulable_message(total, "pod has unbound immediate PersistentVolumeClaims")
        spread = Spread(pod, nodes, placed)
        reasons: Counter[str] = Counter()
        fits: list[PlacedNode] = []
        for node in nodes.values():
            reason = node_filter(pod, node) or spread.filter(node)
            if reason:
                reasons[reason] += 1
            else:
                fits.append(node)
        if not fits:
            detail = ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))
            return unschedulable_message(total, detail) if total else "no nodes available to schedule pods"
        ref = controller_of(pod)
        owner = ref["uid"] if ref else None
        zone_owners = (
            Counter(
                {
                    z: sum(n.owners[owner] for n in nodes.values() if n.labels.get(ZONE) == z)
                    for z in {n.labels.get(ZONE) for n in fits}
                }
            )
            if owner
            else Counter()
        )
        cpu, memory = scoring_requests(pod)
        return min(
            fits,
            key=lambda n: (
                spread.score(n),
                n.owners[owner] if owner else 0,
                zone_owners[n.labels.get(ZONE)],
                (n.score_cpu + cpu) / (n.cpu or 1) + (n.score_memory + memory) / (n.memory or 1),
                n.name,
            ),
        )
