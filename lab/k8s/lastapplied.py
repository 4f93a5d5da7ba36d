"""kubectl's move from client-side to server-side apply, as the fieldmanager eases it.

`kubectl apply` (client side) keeps its last configuration in an annotation and its fields
under `kubectl-client-side-apply`. When `kubectl apply --server-side` (manager `kubectl`)
then conflicts only on fields the live object still has as that annotation says, it takes
them as if forced; and while the annotation exists, each such apply rewrites it to what it
applied, so a later client-side apply still computes the right patch.
"""

from __future__ import annotations

import json
from typing import Any

from lab.k8s import typed
from lab.k8s.fieldpaths import Path

ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL = "kubectl"  # the only manager the fieldmanager does this for
Obj = dict[str, Any]


def _annotations(obj: Obj) -> dict[str, Any]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def allowed_conflicts(live: Obj, expr: str, api_version: str) -> set[Path]:
    """The fields kubectl last applied client-side that the live object still has unchanged."""
    try:
        last = json.loads(_annotations(live).get(ANNOTATION) or "")
    except (json.JSONDecodeError, TypeError):
        return set()
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return set()
    try:
        fields = typed.field_set(last, expr)
        c = typed.compare(last, live, expr)
    except typed.TypedError:
        return set()
    return fields - c.modified - c.added - c.removed


def sync(merged: Obj, config: Obj) -> None:
    """While the object has the annotation, it says what kubectl applied last (server side now)."""
    annotations = _annotations(merged)
    if not annotations.get(ANNOTATION):
        return
    applied = json.loads(json.dumps(config))
    (applied.get("metadata") or {}).get("annotations", {}).pop(ANNOTATION, None)
    # as Go encodes an unstructured object: keys sorted, compact, a final newline
    annotations[ANNOTATION] = json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"
