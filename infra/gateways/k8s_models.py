"""What the operations read from Kubernetes, typed (the topology parsers read the raw lists)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class NodeInfo(BaseModel):
    """A Node's name, whether it is cordoned, and its labels and annotations."""
    name: str
    unschedulable: bool = False
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}

    @classmethod
    def of(cls, raw: dict[str, Any]) -> NodeInfo:
        meta, spec = raw.get("metadata") or {}, raw.get("spec") or {}
        return cls(name=meta.get("name", ""), unschedulable=bool(spec.get("unschedulable")),
                   labels=meta.get("labels") or {}, annotations=meta.get("annotations") or {})


class Condition(BaseModel):
    status: str = ""
    reason: str = ""
    message: str = ""


class ObjectInfo(BaseModel):
    """Any object as an installer reads it back: who it is, its spec, its conditions by type, and for
    a workload how many of its replicas are wanted and ready (a Job: how many pods failed)."""
    kind: str
    name: str
    uid: str = ""
    resource_version: str = ""
    annotations: dict[str, str] = {}
    spec: dict[str, Any] = {}
    conditions: dict[str, Condition] = {}
    wanted: int = 0  # spec.replicas (default 1), or a DaemonSet's desiredNumberScheduled
    ready: int = 0  # readyReplicas, or a DaemonSet's numberReady

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ObjectInfo:
        meta, spec, status = raw.get("metadata") or {}, raw.get("spec") or {}, raw.get("status") or {}
        kind = str(raw.get("kind", ""))
        conditions = {str(c.get("type")): Condition(status=str(c.get("status", "")),
                                                     reason=str(c.get("reason") or ""),
                                                     message=str(c.get("message") or ""))
                      for c in status.get("conditions") or [] if isinstance(c, dict)}
        if kind == "DaemonSet":
            wanted, ready = status.get("desiredNumberScheduled"), status.get("numberReady")
        else:
            wanted, ready = spec.get("replicas", 1), status.get("readyReplicas")
        return cls(kind=kind, name=meta.get("name", ""), uid=meta.get("uid", ""),
                   resource_version=meta.get("resourceVersion", ""),
                   annotations=meta.get("annotations") or {},
                   spec=spec if isinstance(spec, dict) else {}, conditions=conditions,
                   wanted=int(wanted or 0), ready=int(ready or 0))

    def true(self, kind: str) -> bool:
        return kind in self.conditions and self.conditions[kind].status == "True"
