"""The pods/eviction subresource (policy/v1 Eviction), worded as the API server words its refusals.

Pods that are pending, finished or already terminating are deleted without looking at
budgets (canIgnorePDB); otherwise the one PDB that selects the pod must allow a disruption.
A dry run (`dryRun=All` on the request or in its deleteOptions) checks all that and changes nothing.
DaemonSet and mirror pods are evictable here: skipping them is kubectl drain's choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import (
    PDB,
    POD,
    STATUS_SUCCESS,
    Obj,
    deleting,
    pod_ready,
    set_condition,
    spec_of,
    timestamp,
    update_if_changed,
)
from lab.k8s.controllers.disruption import matching_pdbs
from lab.k8s.errors import BadRequest, Forbidden, K8sError, TooManyRequests

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


class MultiplePdbs(K8sError):
    """Returned as a bare Failure Status with code 500 and no reason."""

    reason, code = "", 500

    def status(self) -> dict[str, Any]:
        body = super().status()
        body.pop("reason")
        return body


def _budget_error(pdb_name: str, message: str, retry_after: int = 0) -> TooManyRequests:
    details: dict[str, Any] = {"causes": [{"reason": "DisruptionBudget", "message": message}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return TooManyRequests(VIOLATION, details)


def create_namespaced_pod_eviction(cluster: K8sCluster, namespace: str, name: str, body: Obj) -> Obj:
    store = cluster.store
    if not isinstance(body, dict) or (body.get("kind") not in (None, "Eviction")):
        raise BadRequest(f"not a Eviction object: {type(body).__name__}")
    meta = body.get("metadata") or {}
    if meta.get("name") and meta["name"] != name:
        raise BadRequest("name in URL does not match name in Eviction object")
    pod = store.get(POD, namespace, name)
    options = body.get("deleteOptions") or {}
    grace, dry_run = options.get("gracePeriodSeconds"), "All" in (options.get("dryRun") or [])
    if deleting(pod) or pod.get("status", {}).get("phase") in ("Pending", "Succeeded", "Failed"):
        return _evict(cluster, pod, grace, dry_run)
    pdbs = matching_pdbs(store, pod)
    if len(pdbs) > 1:
        raise MultiplePdbs(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
        )
    if pdbs and not _unhealthy_may_go(pod, pdbs[0]):
        _take_disruption(cluster, pdbs[0], name, dry_run)
    return _evict(cluster, pod, grace, dry_run)


def _unhealthy_may_go(pod: Obj, pdb: Obj) -> bool:
    """A pod that is not ready costs the budget nothing while the budget is met (IfHealthyBudget)."""
    if pod_ready(pod):
        return False
    if spec_of(pdb).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    status = pdb.get("status") or {}
    return int(status.get("currentHealthy", 0)) >= int(status.get("desiredHealthy", 0)) > 0


def _take_disruption(cluster: K8sCluster, pdb: Obj, pod_name: str, dry_run: bool) -> None:
    name, status = pdb["metadata"]["name"], pdb.get("status") or {}
    if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
        raise _budget_error(name, f"The disruption budget {name} is still being processed by the server.", 10)
    allowed = int(status.get("disruptionsAllowed", 0))
    if allowed < 0:
        raise Forbidden(
            f'poddisruptionbudget.policy "{name}" is forbidden: pdb disruptions allowed is negative'
        )
    if allowed == 0:
        raise _budget_error(
            name,
            f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} "
            f"healthy pods and has {status.get('currentHealthy', 0)} currently",
        )

    def take(o: Obj) -> None:
        o["status"]["disruptionsAllowed"] = allowed - 1
        o["status"].setdefault("disruptedPods", {})[pod_name] = timestamp(cluster.clock())

    if not dry_run:  # a dry run checks the budget but spends nothing of it
        cluster.store.mutate(PDB, pdb["metadata"]["namespace"], name, take)


def _evict(cluster: K8sCluster, pod: Obj, grace: int | None, dry_run: bool) -> Obj:
    """Mark the pod as a disruption target (PodDisruptionConditions, GA in 1.31), then delete it."""
    now = cluster.clock()
    if dry_run:
        return dict(STATUS_SUCCESS)
    if not deleting(pod):
        update_if_changed(
            cluster.store,
            POD,
            pod,
            lambda o: set_condition(
                o.setdefault("status", {}).setdefault("conditions", []),
                "DisruptionTarget",
                "True",
                now,
                "EvictionByEvictionAPI",
                "Eviction API: evicting",
                probe=True,
            ),
        )
    cluster.delete_namespaced_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], grace)
    return dict(STATUS_SUCCESS)
