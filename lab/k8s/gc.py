"""Cascading deletion (the garbage collector's part of a DELETE): dependents go with their owner.

`propagationPolicy` Background and Foreground delete the objects whose ownerReferences name
the deleted one (pods gracefully, through the cluster); Orphan strips the reference instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab.k8s import registry
from lab.k8s.resources import Resource

if TYPE_CHECKING:
    from lab.world import Lab

Obj = dict[str, Any]


def _dependents(lab: Lab, uid: str) -> list[tuple[Resource, Obj]]:
    store = lab.k8s.store
    return [(r, o) for r in list(registry.kinds(store)) for o in list(store.iter(r))
            if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or ())]


def _drop_owner(obj: Obj, uid: str) -> None:
    refs = [r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid]
    if refs:
        obj["metadata"]["ownerReferences"] = refs
    else:
        del obj["metadata"]["ownerReferences"]


def cascade(lab: Lab, owner: Obj, policy: str) -> None:
    store = lab.k8s.store
    uid = owner["metadata"]["uid"]
    for res, dep in _dependents(lab, uid):
        meta = dep["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        if policy == "Orphan":
            store.mutate(res, ns, name, lambda o: _drop_owner(o, uid))
        elif res.kind == "Pod":
            lab.k8s.delete_namespaced_pod(ns, name, None)
        else:
            cascade(lab, dep, policy)
            if meta.get("finalizers"):
                store.mark_deleting(res, ns, name, 0)
            else:
                store.remove(res, ns, name)
