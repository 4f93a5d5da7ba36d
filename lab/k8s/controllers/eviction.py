"""The pods/eviction subresource (policy/v1 Eviction), worded as the API server words its refusals.

Pods that are pending, finished or already terminating are deleted without looking at
budgets (canIgnorePDB); otherwise the one PDB that selects the pod must allow a disruption.
DaemonSet and mirror pods are evictable here: skipping them is kubectl drain's choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab.k8s.controllers.base import PDB, POD, STATUS_SUCCESS, Obj, deleting, timestamp
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
    grace = (body.get("deleteOptions") or {}).get("gracePeriodSeconds")
    if deleting(pod) or pod.get("status", {}).get("phase") in ("Pending", "Succeeded", "Failed"):
        cluster.delete_namespaced_pod(namespace, name, grace)
        return dict(STATUS_SUCCESS)
    pdbs = matching_pdbs(store, pod)
    if len(pdbs) > 1:
        raise MultiplePdbs(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
        )
    if pdbs:
        pdb, pdb_name = pdbs[0], pdbs[0]["metadata"]["name"]
        status = pdb.get("status") or {}
        if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
            raise _budget_error(
                pdb_name, f"The disruption budget {pdb_name} is still being processed by the server.", 10
            )
        allowed = int(status.get("disruptionsAllowed", 0))
        if allowed < 0:
            raise Forbidden(
                f'poddisruptionbudget.policy "{pdb_name}" is forbidden: pdb disruptions allowed is negative'
            )
        if allowed == 0:
            raise _budget_error(
                pdb_name,
                f"The disruption budget {pdb_name} needs {status.get('desiredHealthy', 0)} "
                f"healthy pods and has {status.get('currentHealthy', 0)} currently",
            )

        def take(o: Obj) -> None:
            o["status"]["disruptionsAllowed"] = allowed - 1
            o["status"].setdefault("disruptedPods", {})[name] = timestamp(cluster.clock())

        store.mutate(PDB, namespace, pdb_name, take)
    cluster.delete_namespaced_pod(namespace, name, grace)
    return dict(STATUS_SUCCESS)
