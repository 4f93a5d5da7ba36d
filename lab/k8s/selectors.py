"""Label and field selectors, parsed and matched the way the API server does.

Label selector strings: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
Field selectors: `f=v`, `f==v`, `f!=v` over the few fields each kind supports; any other
field is a 400 `field label not supported: f`, as on a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab.k8s.errors import BadRequest

Obj = dict[str, Any]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # in | notin | exists | !exists (=, == become in; != becomes notin)
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op == "in":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values  # notin: a missing key matches


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside `( )`."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    reqs: list[Requirement] = []
    for part in _split_top_level(text or ""):
        if m := _SET.match(part):
            values = frozenset(v.strip() for v in m.group(4).split(",") if v.strip())
            reqs.append(Requirement(m.group(1), m.group(3), values))
        elif m := _EQ.match(part):
            reqs.append(Requirement(m.group(1), "notin" if m.group(3) == "!=" else "in",
                                    frozenset({m.group(4)})))
        elif m := _EXISTS.match(part):
            reqs.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise BadRequest(f"unable to parse requirement: found '{part.strip()}', "
                             "expected: in, notin, =, ==, !=, gt, lt")
    return reqs


def labels_match(reqs: list[Requirement], obj: Obj) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """A `LabelSelector` object (matchLabels + matchExpressions), as in Deployments and PDBs."""
    if selector is None:
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    return all(Requirement(e["key"], ops[e["operator"]], frozenset(e.get("values") or ())).matches(labels)
               for e in selector.get("matchExpressions") or ())


# field selectors

def _path(*keys: str) -> Callable[[Obj], str]:
    def get(obj: Obj) -> str:
        value: Any = obj
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        if isinstance(value, bool):
            return str(value).lower()
        return "" if value is None else str(value)
    return get


_META = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}
# The fields each kind's registry strategy exposes (GetAttrs / field label conversion funcs).
FIELDS: dict[str, dict[str, Callable[[Obj], str]]] = {
    "Pod": {**_META, "spec.nodeName": _path("spec", "nodeName"),
            "spec.restartPolicy": _path("spec", "restartPolicy"),
            "spec.schedulerName": _path("spec", "schedulerName"),
            "spec.serviceAccountName": _path("spec", "serviceAccountName"),
            "spec.hostNetwork": lambda o: str(bool(o.get("spec", {}).get("hostNetwork"))).lower(),
            "status.phase": _path("status", "phase"), "status.podIP": _path("status", "podIP"),
            "status.nominatedNodeName": _path("status", "nominatedNodeName")},
    "Node": {**_META,
             "spec.unschedulable": lambda o: str(bool(o.get("spec", {}).get("unschedulable"))).lower()},
    "Namespace": {**_META, "status.phase": _path("status", "phase")},
    "Secret": {**_META, "type": _path("type")},
    "Event": {**_META, **{f"involvedObject.{f}": _path("involvedObject", f)
                          for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                                    "fieldPath")},
              "reason": _path("reason"), "type": _path("type"), "source": _path("source", "component"),
              "reportingComponent": _path("reportingComponent")},
    "ReplicaSet": {**_META, "status.replicas": _path("status", "replicas")},
    "PersistentVolumeClaim": {**_META},
}


@dataclass(frozen=True)
class FieldRequirement:
    get: Callable[[Obj], str]
    value: str
    negate: bool

    def matches(self, obj: Obj) -> bool:
        return (self.get(obj) == self.value) != self.negate


def parse_field_selector(text: str | None, kind: str) -> list[FieldRequirement]:
    supported = FIELDS.get(kind, _META)
    reqs = []
    for part in _split_top_level(text or ""):
        m = re.match(r"^\s*([^=!\s]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in supported:
            raise BadRequest(f"field label not supported: {field}")
        reqs.append(FieldRequirement(supported[field], value, op == "!="))
    return reqs


def fields_match(reqs: list[FieldRequirement], obj: Obj) -> bool:
    return all(r.matches(obj) for r in reqs)
