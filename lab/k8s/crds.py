"""CustomResourceDefinitions of the custom kinds: K3s' HelmCharts and the installed addons' kinds.

A custom kind is served only while its CRD exists, as on a real cluster: deleting the CRD
makes the kind's paths 404 and removes its objects.
"""

from __future__ import annotations

from typing import Any

from lab.k8s.resources import BY_KIND, RESOURCES, Resource
from lab.k8s.store import Store, timestamp

CRD = BY_KIND["CustomResourceDefinition"]
Obj = dict[str, Any]


def crd_name(res: Resource) -> str:
    return f"{res.plural}.{res.group}"


def definition(res: Resource, now: float) -> Obj:
    names = {"plural": res.plural, "singular": res.kind.lower(), "kind": res.kind,
             "listKind": f"{res.kind}List"}
    if res.short_names:
        names["shortNames"] = list(res.short_names)
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    version: Obj = {"name": res.version, "served": True, "storage": True,
                    "schema": {"openAPIV3Schema": schema}}
    if "status" in res.subresources:
        version["subresources"] = {"status": {}}
    crd = {
        "apiVersion": CRD.api_version, "kind": CRD.kind, "metadata": {"name": crd_name(res)},
        "spec": {"group": res.group, "names": names, "scope": "Namespaced" if res.namespaced else "Cluster",
                 "versions": [version]},
    }
    accept(crd, now)
    return crd


def accept(crd: Obj, now: float) -> None:
    """What the apiextensions controllers report once a CRD's names are taken: Established."""
    spec, since = crd.get("spec", {}), timestamp(now)
    crd["status"] = {
        "acceptedNames": spec.get("names", {}),
        "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": since},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": since}]}


def install(store: Store, now: float) -> None:
    for res in RESOURCES:
        if res.custom and store.find(CRD, "", crd_name(res)) is None:
            store.create(CRD, definition(res, now))


def served(store: Store, res: Resource) -> bool:
    return not res.custom or store.find(CRD, "", crd_name(res)) is not None


def remove_objects(store: Store, crd: Obj) -> None:
    """Deleting a CRD deletes every object of its kind."""
    spec = crd.get("spec", {})
    kind = spec.get("names", {}).get("kind")
    res = BY_KIND.get(kind or "")
    if res is not None and res.group == spec.get("group"):
        for obj in list(store.iter(res)):
            store.remove(res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
