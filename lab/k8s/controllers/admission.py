"""Pod admission: the defaults the API server fills in when a Pod is created.

Among them the DefaultTolerationSeconds plugin's 300 s tolerations for the not-ready and
unreachable taints, which decide when pods leave a dead node.
"""

from __future__ import annotations

import copy
from typing import Any

from lab.k8s.controllers.base import Obj, quantity
from lab.k8s.controllers.taints import NOT_READY, UNREACHABLE, tolerates

_CONTAINER_DEFAULTS = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "resources": {},
}
_SPEC_DEFAULTS = {
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "serviceAccountName": "default",
    "enableServiceLinks": True,
    "preemptionPolicy": "PreemptLowerPriority",
    "priority": 0,
}


_SYSTEM_PRIORITY = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}


def default_tolerations(tolerations: list[dict[str, Any]], seconds: int) -> list[dict[str, Any]]:
    out = list(tolerations)
    for key in (NOT_READY, UNREACHABLE):
        if not any(tolerates(t, {"key": key, "effect": "NoExecute"}) for t in out):
            out.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
            )
    return out


def qos_class(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        all(
            quantity((r.get("limits") or {}).get(k)) > 0
            and quantity((r.get("requests") or r.get("limits") or {}).get(k))
            == quantity((r.get("limits") or {}).get(k))
            for k in ("cpu", "memory")
        )
        for r in resources
    )
    return "Guaranteed" if guaranteed else "Burstable"


def admit_pod(pod: Obj, toleration_seconds: int) -> Obj:
    """A copy of `pod` with the API server's defaults; idempotent."""
    pod = copy.deepcopy(pod)
    spec = pod.setdefault("spec", {})
    for key, value in _SPEC_DEFAULTS.items():
        spec.setdefault(key, copy.deepcopy(value))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    if spec.get("priorityClassName") in _SYSTEM_PRIORITY:  # the Priority plugin resolves the built-in classes
        spec["priority"] = _SYSTEM_PRIORITY[spec["priorityClassName"]]
    for c in spec.get("containers") or []:
        for key, value in _CONTAINER_DEFAULTS.items():
            c.setdefault(key, copy.deepcopy(value))
        c.setdefault(
            "imagePullPolicy",
            "Always"
            if str(c.get("image", "")).endswith(":latest") or ":" not in str(c.get("image", ""))
            else "IfNotPresent",
        )
    spec["tolerations"] = default_tolerations(spec.get("tolerations") or [], toleration_seconds)
    status = pod.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", qos_class(spec))
    return pod
