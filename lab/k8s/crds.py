"""CustomResourceDefinitions: what the apiextensions-apiserver does with one, and with the
objects of its kind.

A CRD is validated (names, scope, versions, structural schemas), then its names are accepted
and it is Established unless another CRD holds them; from then on lab/k8s/registry.py serves
its kind. Deleting the CRD deletes every object of its kind. Custom objects are pruned,
defaulted and validated against the schema of their version (lab/k8s/schema.py).
"""

from __future__ import annotations

from typing import Any

from lab.k8s import chart_crds, schema
from lab.k8s.registry import CRD, resources_of
from lab.k8s.resources import Resource
from lab.k8s.store import Store, timestamp
from lab.k8s.structural import definition_errors

Obj = dict[str, Any]
Cause = schema.Cause


def known(kind: str) -> Resource:
    """The kind of one of the CRDs K3s or an addon chart brings (for the controllers that use it)."""
    return next(resources_of(c)[0] for c in chart_crds.ALL if c["spec"]["names"]["kind"] == kind)


def _condition(crd: Obj, kind: str, ok: bool, reason: str, message: str, since: str) -> Obj:
    status = "True" if ok else "False"
    old = next((c for c in (crd.get("status") or {}).get("conditions") or []
                if isinstance(c, dict) and c.get("type") == kind and c.get("status") == status), None)
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": old.get("lastTransitionTime", since) if old else since}


def _conflict(store: Store, crd: Obj) -> str | None:
    """Another CRD of the same group already serving this plural or kind."""
    spec = crd["spec"]
    for other in store.list(CRD):
        theirs = other.get("spec", {})
        if other["metadata"]["name"] == crd["metadata"].get("name") or theirs.get("group") != spec["group"]:
            continue
        if theirs.get("names", {}).get("kind") == spec["names"]["kind"]:
            return f'"{spec["names"]["kind"]}" is already in use'
    return None


def accept(store: Store, crd: Obj, now: float) -> None:
    """The NamesAccepted and Established conditions, set in place, as the CRD controllers would."""
    since = timestamp(now)
    conflict = _conflict(store, crd)
    names = crd["spec"]["names"]
    accepted = {**names, "singular": names.get("singular") or names["kind"].lower(),
                "listKind": names.get("listKind") or f"{names['kind']}List"}
    crd["spec"]["names"] = accepted
    crd["status"] = {
        "acceptedNames": {"plural": "", "kind": ""} if conflict else accepted,  # Go's zero value
        "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
        "conditions": [
            _condition(crd, "NamesAccepted", conflict is None, "KindConflict" if conflict else "NoConflicts",
                       conflict or "no conflicts found", since),
            _condition(crd, "Established", conflict is None,
                       "NotAccepted" if conflict else "InitialNamesAccepted",
                       "not all names are accepted" if conflict else "the initial names have been accepted",
                       since)]}


def check_definition(crd: Obj, current: Obj | None = None) -> list[Cause]:
    """ValidateCustomResourceDefinition, and on update its immutable scope."""
    errors = definition_errors(crd)
    scope = (crd.get("spec") or {}).get("scope")
    if current is not None and scope != current["spec"].get("scope"):
        errors.append(("spec.scope", "FieldValueInvalid", f"Invalid value: {schema.go_value(scope)}: "
                       "field is immutable"))
    return errors


def install(store: Store, definitions: list[Obj], now: float) -> None:
    """Create the CRDs that do not exist yet (Helm never upgrades a chart's crds/)."""
    for definition in definitions:
        if store.find(CRD, "", definition["metadata"]["name"]) is None:
            crd = {**definition, "metadata": dict(definition["metadata"])}
            accept(store, crd, now)
            store.create(CRD, crd)


def install_k3s(store: Store, now: float) -> None:
    install(store, chart_crds.K3S, now)


def install_chart_crds(store: Store, chart: str, values: Obj, now: float) -> None:
    """The CRDs a chart's release brings, created when the release installs."""
    install(store, chart_crds.chart_crds(chart, values), now)


def remove_objects(store: Store, crd: Obj) -> None:
    """Deleting a CRD deletes every object of its kind."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    # every version shares one storage, served or not
    res = Resource(spec.get("group", ""), "", names.get("plural", ""), names.get("kind", ""),
                   spec.get("scope") == "Namespaced", custom=True)
    for obj in list(store.iter(res)):
        store.remove(res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def version_schema(crd: Obj | None, version: str) -> Obj | None:
    versions = [v for v in (crd or {}).get("spec", {}).get("versions") or [] if isinstance(v, dict)]
    found = next((v for v in versions if v.get("name") == version), {})
    return (found.get("schema") or {}).get("openAPIV3Schema")


def admit(crd: Obj | None, res: Resource, obj: Obj, pruned: list[str] | None = None) -> list[Cause]:
    """Prune and default `obj` in place, then its schema errors; the fields the schema does not know
    go to `pruned`, for fieldValidation (Strict refuses them, Warn warns)."""
    spec = version_schema(crd, res.version)
    if not isinstance(spec, dict):
        return []
    dropped = schema.prune(spec, obj)
    if pruned is not None:
        pruned += dropped
    schema.default(spec, obj)
    return schema.validate(spec, obj)
