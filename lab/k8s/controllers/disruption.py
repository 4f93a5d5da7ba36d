"""The disruption controller: PodDisruptionBudget status (currentHealthy, desiredHealthy,
disruptionsAllowed, expectedPods), which the eviction API reads and decrements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.k8s.controllers.base import (
    DEPLOYMENT,
    PDB,
    POD,
    REPLICASET,
    STATEFULSET,
    Obj,
    Store,
    controller_of,
    deleting,
    int_or_percent,
    parse_time,
    pod_ready,
    replicas,
    selects,
    set_condition,
    spec_of,
    update_if_changed,
)

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

DELETION_TIMEOUT = 120.0  # an eviction not followed by the pod's deletion stops counting after 2 min
_SCALABLE = {"ReplicaSet": REPLICASET, "StatefulSet": STATEFULSET, "Deployment": DEPLOYMENT}


def _scale_of(store: Store, namespace: str, ref: dict[str, str]) -> tuple[str, int] | None:
    """The uid and replicas of the scalable controller behind a pod (a ReplicaSet's Deployment)."""
    res = _SCALABLE.get(ref.get("kind", ""))
    owner = store.find(res, namespace, ref["name"]) if res else None
    if owner is None:
        return None
    parent = controller_of(owner)
    if owner["kind"] == "ReplicaSet" and parent and parent.get("kind") == "Deployment":
        return _scale_of(store, namespace, parent) or (
            owner["metadata"]["uid"],
            replicas(owner),
        )
    return owner["metadata"]["uid"], replicas(owner)


def matching_pdbs(store: Store, pod: Obj) -> list[Obj]:
    return [
        pdb
        for pdb in store.list(PDB, pod["metadata"]["namespace"])
        if selects(spec_of(pdb).get("selector"), pod["metadata"].get("labels"))
    ]


class DisruptionController:
    watches = frozenset({"PodDisruptionBudget", "Pod", "Deployment", "ReplicaSet", "StatefulSet"})

    def __init__(self, cluster: K8sCluster) -> None:
        self.cluster = cluster

    def run(self, now: float) -> float | None:
        store, wake = self.cluster.store, None
        pdbs = store.list(PDB)
        by_namespace: dict[str, list[Obj]] = {}
        if pdbs:
            for pod in store.list(POD):
                by_namespace.setdefault(pod["metadata"]["namespace"], []).append(pod)
        for pdb in pdbs:
            ns = pdb["metadata"]["namespace"]
            selector = spec_of(pdb).get("selector")
            pods = [p for p in by_namespace.get(ns, []) if selects(selector, p["metadata"].get("labels"))]
            disrupted = {
                name: t
                for name, t in (pdb.get("status", {}).get("disruptedPods") or {}).items()
                if (p := store.find(POD, ns, name)) is not None
                and not deleting(p)
                and (parse_time(t) or 0) + DELETION_TIMEOUT > now
            }
            for t in disrupted.values():
                due = (parse_time(t) or now) + DELETION_TIMEOUT
                wake = due if wake is None else min(wake, due)
            update_if_changed(
                store, PDB, pdb, lambda o, pods=pods, d=disrupted: self._status(o, pods, d, now)
            )
        return wake

    def _status(self, pdb: Obj, pods: list[Obj], disrupted: dict[str, str], now: float) -> None:
        spec, store = spec_of(pdb), self.cluster.store
        healthy = sum(
            pod_ready(p) and not deleting(p) and p["metadata"]["name"] not in disrupted for p in pods
        )
        min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
        if isinstance(min_available, int) and max_unavailable is None:
            expected = len(pods)
        else:
            scales = {
                s
                for p in pods
                if (ref := controller_of(p)) and (s := _scale_of(store, p["metadata"]["namespace"], ref))
            }
            expected = sum(replicas for _, replicas in scales)
        if min_available is not None:
            desired = int_or_percent(min_available, expected, round_up=True)
        elif max_unavailable is not None:
            desired = max(0, expected - int_or_percent(max_unavailable, expected, round_up=True))
        else:
            desired = expected
        allowed = max(0, healthy - desired)
        status = pdb.setdefault("status", {})
        status.update(
            observedGeneration=pdb["metadata"].get("generation", 1),
            currentHealthy=healthy,
            desiredHealthy=desired,
            expectedPods=expected,
            disruptionsAllowed=allowed,
        )
        if disrupted:
            status["disruptedPods"] = disrupted
        else:
            status.pop("disruptedPods", None)
        set_condition(
            status.setdefault("conditions", []),
            "DisruptionAllowed",
            "True" if allowed else "False",
            now,
            "SufficientPods" if allowed else "InsufficientPods",
            "",
        )
        status["conditions"][0]["observedGeneration"] = status["observedGeneration"]
