"""One object, two served shapes: events.k8s.io/v1 Events are core Events under other field names.

The API server stores an Event once and converts it for whichever group a client asks
(`regarding` is `involvedObject`, `note` is `message`, the old counters are `deprecated*`).
`served` turns a stored (core) object into the shape of the resource asked for; `stored`
does the reverse for a write. Every other resource is served as stored.
"""

from __future__ import annotations

from typing import Any

from lab.k8s.resources import Resource

Obj = dict[str, Any]
# core field -> events.k8s.io field
_EVENT_FIELDS = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
                 "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
                 "count": "deprecatedCount", "reportingComponent": "reportingController"}
_BACK = {new: old for old, new in _EVENT_FIELDS.items()}


def _renamed(obj: Obj, names: dict[str, str]) -> Obj:
    return {names.get(k, k): v for k, v in obj.items()}


def served(res: Resource, obj: Obj) -> Obj:
    if not res.stored_as:
        return obj
    out = _renamed(obj, _EVENT_FIELDS)
    out["apiVersion"], out["kind"] = res.api_version, res.kind
    return out


def stored(res: Resource, obj: Obj) -> Obj:
    if not res.stored_as or not isinstance(obj, dict):
        return obj
    out = _renamed(obj, _BACK)
    out["apiVersion"], out["kind"] = "v1", res.kind
    return out
