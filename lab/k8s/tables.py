"""Server-side printing: the `Table` kubectl asks for (`Accept: ...;as=Table;g=meta.k8s.io;v=v1`).

Columns follow the API server's printers for the kinds an operator looks at (nodes, pods,
deployments); every other kind gets Name and Age, as a CRD without printer columns does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from lab.k8s.resources import Resource

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj, float], Any]]  # name, type, priority, cell


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: 42s, 5m10s, 3h20m, 2d4h, 400d."""
    s = int(seconds)
    if s < 0:
        return "<invalid>" if s < -1 else "0s"
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y{d % 365}d" if d < 2920 and d % 365 else f"{d // 365}y"


def _age(obj: Obj, now: float) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    return human_duration(now - dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())


def _name(obj: Obj, now: float) -> str:
    return obj["metadata"]["name"]


def _condition(obj: Obj, kind: str) -> Obj | None:
    return next((c for c in obj.get("status", {}).get("conditions") or [] if c.get("type") == kind), None)


def _node_status(obj: Obj, now: float) -> str:
    ready = _condition(obj, "Ready")
    status = ("Ready" if ready["status"] == "True" else "NotReady") if ready else "Unknown"
    if ready and ready["status"] == "Unknown":
        status = "NotReady"
    return status + (",SchedulingDisabled" if obj.get("spec", {}).get("unschedulable") else "")


def _node_roles(obj: Obj, now: float) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in obj["metadata"].get("labels") or {} if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _node_address(kind: str) -> Callable[[Obj, float], str]:
    def cell(obj: Obj, now: float) -> str:
        return next((a["address"] for a in obj.get("status", {}).get("addresses") or [] if a["type"] == kind),
                    "<none>")
    return cell


def _pod_ready(obj: Obj, now: float) -> str:
    statuses = obj.get("status", {}).get("containerStatuses") or []
    return f"{sum(1 for c in statuses if c.get('ready'))}/{len(obj.get('spec', {}).get('containers') or [])}"


def _pod_status(obj: Obj, now: float) -> str:
    if "deletionTimestamp" in obj["metadata"]:
        return "Terminating"
    status = obj.get("status", {})
    for c in status.get("containerStatuses") or []:
        waiting = (c.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return waiting["reason"]
    return status.get("reason") or status.get("phase") or "Unknown"


def _restarts(obj: Obj, now: float) -> int:
    return sum(c.get("restartCount", 0) for c in obj.get("status", {}).get("containerStatuses") or [])


def _path(*keys: str, default: Any = "<none>") -> Callable[[Obj, float], Any]:
    def cell(obj: Obj, now: float) -> Any:
        value: Any = obj
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        return default if value is None else value
    return cell


COLUMNS: dict[str, list[Column]] = {
    "Node": [("Name", "string", 0, _name), ("Status", "string", 0, _node_status),
             ("Roles", "string", 0, _node_roles), ("Age", "string", 0, _age),
             ("Version", "string", 0, _path("status", "nodeInfo", "kubeletVersion")),
             ("Internal-IP", "string", 1, _node_address("InternalIP")),
             ("External-IP", "string", 1, _node_address("ExternalIP")),
             ("OS-Image", "string", 1, _path("status", "nodeInfo", "osImage", default="<unknown>")),
             ("Kernel-Version", "string", 1, _path("status", "nodeInfo", "kernelVersion",
                                                   default="<unknown>")),
             ("Container-Runtime", "string", 1, _path("status", "nodeInfo", "containerRuntimeVersion",
                                                      default="<unknown>"))],
    "Pod": [("Name", "string", 0, _name), ("Ready", "string", 0, _pod_ready),
            ("Status", "string", 0, _pod_status), ("Restarts", "string", 0, _restarts),
            ("Age", "string", 0, _age), ("IP", "string", 1, _path("status", "podIP")),
            ("Node", "string", 1, _path("spec", "nodeName")),
            ("Nominated Node", "string", 1, _path("status", "nominatedNodeName")),
            ("Readiness Gates", "string", 1, lambda o, n: "<none>")],
    "Deployment": [("Name", "string", 0, _name),
                   ("Ready", "string", 0, lambda o, n: f"{o.get('status', {}).get('readyReplicas', 0)}/"
                                                       f"{o.get('spec', {}).get('replicas', 0)}"),
                   ("Up-to-date", "integer", 0, _path("status", "updatedReplicas", default=0)),
                   ("Available", "integer", 0, _path("status", "availableReplicas", default=0)),
                   ("Age", "string", 0, _age)],
}
DEFAULT: list[Column] = [("Name", "string", 0, _name), ("Age", "string", 0, _age)]


def wants_table(accept: str) -> bool:
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in accept.split(","))


def table(res: Resource, items: list[Obj], list_meta: Obj, now: float) -> Obj:
    columns = COLUMNS.get(res.kind, DEFAULT)
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": [{"name": name, "type": kind, "format": "name" if name == "Name" else "",
                               "description": "", "priority": priority}
                              for name, kind, priority, _ in columns],
        "rows": [{"cells": [cell(obj, now) for *_, cell in columns],
                  "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}} for obj in items],
    }
