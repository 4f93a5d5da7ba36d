"""Aggregated discovery (apidiscovery.k8s.io): every group version's resources in one answer.

kubectl and client-go ask `/api` and `/apis` for an `APIGroupDiscoveryList` first
(`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...`) and fall
back to the legacy documents when the server answers plain JSON; Kubernetes 1.31 answers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lab.k8s.resources import Resource

Obj = dict[str, Any]
# subresource -> (group, version, kind, verbs) as discovery.SUBRESOURCES; "" is the parent's
Subresources = dict[str, tuple[str, str, str, list[str]]]


def wanted(accept: str) -> str | None:
    """The apidiscovery version the first acceptable Accept clause asks for, or None for the legacy
    document (a plain `application/json` first, or no aggregated clause at all)."""
    for clause in accept.split(","):
        media, *params = (p.strip() for p in clause.split(";"))
        args = dict(p.split("=", 1) for p in params if "=" in p)
        if media in ("application/json", "*/*", "application/*") and not args.get("g"):
            return None
        if (media == "application/json" and args.get("g") == "apidiscovery.k8s.io"
                and args.get("as") == "APIGroupDiscoveryList" and args.get("v") in ("v2", "v2beta1")):
            return args["v"]
    return None


def media_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def resource_entry(r: Resource, verbs: list[str], subresources: Subresources, categories: list[str]) -> Obj:
    entry: Obj = {"resource": r.plural,
                  "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                  "scope": "Namespaced" if r.namespaced else "Cluster",
                  "singularResource": r.singular or r.kind.lower(), "verbs": verbs}
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if categories:
        entry["categories"] = categories
    subs = []
    for sub in r.subresources:
        group, version, kind, sub_verbs = subresources[sub]
        subs.append({"subresource": sub, "verbs": sub_verbs, "responseKind": {
            "group": group if kind else r.group, "version": version if kind else r.version,
            "kind": kind or r.kind}})
    if subs:
        entry["subresources"] = subs
    return entry


def document(version: str, groups: dict[str, list[str]], entries: Iterable[tuple[Resource, Obj]]) -> Obj:
    """The APIGroupDiscoveryList of `groups` (name -> versions, "" the core group), whose resources
    come as (resource, entry) pairs."""
    by_gv: dict[tuple[str, str], list[Obj]] = {}
    for res, entry in entries:
        by_gv.setdefault((res.group, res.version), []).append(entry)
    items = [{"metadata": {"name": name, "creationTimestamp": None},
              "versions": [{"version": v, "resources": by_gv.get((name, v), []), "freshness": "Current"}
                           for v in versions]}
             for name, versions in groups.items()]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}

