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
