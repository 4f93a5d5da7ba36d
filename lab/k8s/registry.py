"""The kinds served right now: the built-in RESOURCES, plus one Resource per served version of
each established CustomResourceDefinition (as the apiextensions-apiserver adds and drops them)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lab.k8s import conversion
from lab.k8s.resources import BY_KIND, RESOURCES, Resource
from lab.k8s.store import Store

CRD = BY_KIND["CustomResourceDefinition"]
BUILT_IN = frozenset((r.group, r.version, r.plural) for r in RESOURCES)
Obj = dict[str, Any]


@dataclass(frozen=True)
class Served:
    resources: tuple[Resource, ...]
    by_path: dict[tuple[str, str, str], Resource] = field(default_factory=dict)
    by_kind: dict[tuple[str, str], Resource] = field(default_factory=dict)  # (group, kind) -> preferred


def established(crd: Obj) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [] if isinstance(c, dict))


def resources_of(crd: Obj) -> list[Resource]:
    """One Resource per served version, the storage version first (the preferred one in discovery)."""
    spec, names = crd["spec"], crd["spec"]["names"]
    versions = sorted((v for v in spec["versions"] if v.get("served")), key=lambda v: not v.get("storage"))
    return [Resource(spec["group"], v["name"], names["plural"], names["kind"], spec["scope"] == "Namespaced",
                     tuple(names.get("shortNames") or ()),
                     tuple(s for s in ("status", "scale") if s in (v.get("subresources") or {})),
                     custom=True, singular=names.get("singular") or "",
                     categories=tuple(names.get("categories") or ()))
            for v in versions]


_CACHE: weakref.WeakKeyDictionary[Store, tuple[Any, Served]] = weakref.WeakKeyDictionary()


def served(store: Store) -> Served:
    crds = store.list(CRD)
    key = tuple(c["metadata"]["resourceVersion"] for c in crds)
    cached = _CACHE.get(store)
    if cached is not None and cached[0] == key:
        return cached[1]
    resources = list(RESOURCES)
    for crd in crds:
        if established(crd) and "deletionTimestamp" not in crd["metadata"]:
            # a built-in kind's path is the built-in's (the CRD handler only sees what nothing else serves)
            resources += [r for r in resources_of(crd) if (r.group, r.version, r.plural) not in BUILT_IN]
    result = Served(tuple(resources), {(r.group, r.version, r.plural): r for r in resources}, {})
    for r in reversed(resources):  # the first (preferred) version wins
        result.by_kind[(r.group, r.kind)] = r
    _CACHE[store] = (key, result)
    return result


def kinds(store: Store) -> Iterator[Resource]:
    """Each stored kind once (a CRD's versions share one storage)."""
    seen: set[str] = set()
    for r in served(store).resources:
        if r.key not in seen:
            seen.add(r.key)
            yield r


def present(res: Resource, obj: Obj) -> Obj:
    """An object as the group version it is read through serves it: a CRD's versions share one
    storage and, without a conversion webhook, differ only in apiVersion; a built-in kind served
    by two groups (Event) is renamed field by field (lab/k8s/conversion.py)."""
    if res.custom and obj.get("apiVersion") != res.api_version:
        return {**obj, "apiVersion": res.api_version}
    return conversion.served(res, obj)


def crd_of(store: Store, res: Resource) -> Obj | None:
    return store.find(CRD, "", f"{res.plural}.{res.group}") if res.custom else None
