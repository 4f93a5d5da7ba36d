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
_HELM_SPEC = {**{key: {"type": "string"} for key in ("chart", "repo", "version", "targetNamespace",
                                                      "valuesContent", "helmVersion", "jobImage", "timeout")},
              "bootstrap": {"type": "boolean"}, "createNamespace": {"type": "boolean"},
              "set": {"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": True}}}
# the typed fields of the CRDs' schemas (K3s' helm-controller CRDs), the rest is preserved as sent
SPEC_FIELDS: dict[str, Obj] = {"HelmChart": _HELM_SPEC,
                               "HelmChartConfig": {"valuesContent": {"type": "string"}}}
# kubectl's columns for the kinds whose CRDs name some (K3s' helm-controller CRD)
PRINTER_COLUMNS: dict[str, list[Obj]] = {"HelmChart": [
    {"name": name, "type": "boolean" if name == "Bootstrap" else "string", "jsonPath": path}
    for name, path in (("Job", ".status.jobName"), ("Chart", ".spec.chart"),
                       ("TargetNamespace", ".spec.targetNamespace"), ("Version", ".spec.version"),
                       ("Repo", ".spec.repo"), ("HelmVersion", ".spec.helmVersion"),
                       ("Bootstrap", ".spec.bootstrap"))]}
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def crd_name(res: Resource) -> str:
    return f"{res.plural}.{res.group}"


def definition(res: Resource, now: float) -> Obj:
    names = {"plural": res.plural, "singular": res.kind.lower(), "kind": res.kind,
             "listKind": f"{res.kind}List"}
    if res.short_names:
        names["shortNames"] = list(res.short_names)
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": SPEC_FIELDS.get(res.kind, {}),
                 "x-kubernetes-preserve-unknown-fields": True},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    version: Obj = {"name": res.version, "served": True, "storage": True,
                    "schema": {"openAPIV3Schema": schema}}
    if "status" in res.subresources:
        version["subresources"] = {"status": {}}
    if res.kind in PRINTER_COLUMNS:
        version["additionalPrinterColumns"] = PRINTER_COLUMNS[res.kind]
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


def _type_errors(schema: Obj, value: Any, path: str) -> list[tuple[str, str, str]]:
    kind, want = _JSON_TYPES.get(type(value), "null"), schema.get("type")
    if want and value is not None and kind != want and not (want == "number" and kind == "integer"):
        return [(path, "FieldValueTypeInvalid",
                 f'Invalid value: "{kind}": {path} in body must be of type {want}: "{kind}"')]
    if schema.get("x-kubernetes-int-or-string") and kind not in ("integer", "string", "null"):
        return [(path, "FieldValueInvalid", f'Invalid value: "{kind}": {path} in body must be of type '
                                             f'integer,string: "{kind}"')]
    if not isinstance(value, dict):
        return []
    errors = []
    props = schema.get("properties")
    for key, item in value.items():
        sub = (props if isinstance(props, dict) else {}).get(key, schema.get("additionalProperties"))
        if isinstance(sub, dict):
            errors += _type_errors(sub, item, f"{path}.{key}" if path else key)
    return errors


def schema_errors(store: Store, res: Resource, obj: Obj) -> list[tuple[str, str, str]]:
    """(field, reason, message) where a custom resource breaks its CRD's structural schema."""
    crd = store.find(CRD, "", crd_name(res)) if res.custom else None
    versions = [v for v in (crd or {}).get("spec", {}).get("versions") or [] if isinstance(v, dict)]
    version = next((v for v in versions if v.get("name") == res.version), {})
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    return _type_errors(schema, body, "") if isinstance(schema, dict) else []
