"""ValidateCustomResourceDefinition: the names, scope and versions of a CRD, and that each
version's openAPIV3Schema is structural, in the apiextensions-apiserver's words."""

from __future__ import annotations

import re
from typing import Any

from lab.k8s.schema import Cause, go_value

Obj = dict[str, Any]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
              "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
              "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_KNOWN_TYPES = ("array", "boolean", "integer", "number", "object", "string")


def _required(path: str, detail: str = "") -> Cause:
    return (path, "FieldValueRequired", f"Required value: {detail}" if detail else "Required value")


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return (path, "FieldValueInvalid", f"Invalid value: {go_value(value)}: {detail}")


def _forbidden(path: str, detail: str) -> Cause:
    return (path, "FieldValueForbidden", f"Forbidden: {detail}")


def _schema_errors(s: Any, path: str, level: str) -> list[Cause]:
    """validateStructuralInvariants and the property type checks, for one schema node."""
    if not isinstance(s, dict):
        return [_invalid(path, s, "must be an object")]
    errors: list[Cause] = []
    kind = s.get("type")
    if kind is not None and kind not in _KNOWN_TYPES:
        errors.append((f"{path}.type", "FieldValueNotSupported", f"Unsupported value: {go_value(kind)}: "
                       "supported values: " + ", ".join(f'"{t}"' for t in _KNOWN_TYPES)))
    if "$ref" in s:
        errors.append(_forbidden(f"{path}.$ref", "$ref is not supported"))
    if kind == "array" and "items" not in s:
        errors.append(_required(f"{path}.items", "must be specified"))
    untyped = not s.get("x-kubernetes-int-or-string") and not s.get("x-kubernetes-preserve-unknown-fields")
    if not kind and untyped:
        detail = {"root": "must not be empty at the root",
                  "item": "must not be empty for specified array items",
                  "field": "must not be empty for specified object fields"}[level]
        errors.append(_required(f"{path}.type", detail))
    if level == "root" and kind and kind != "object":
        errors.append(_invalid(f"{path}.type", kind, "must be object at the root"))
    extra = s.get("additionalProperties")
    if extra is not None and level == "root":
        errors.append(_forbidden(f"{path}.additionalProperties", "must not be used at the root"))
    if extra is not None and s.get("properties"):
        errors.append(_forbidden(f"{path}.additionalProperties",
                                 "additionalProperties and properties are mutual exclusive"))
    if s.get("x-kubernetes-int-or-string") and s.get("x-kubernetes-preserve-unknown-fields"):
        errors.append(_invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True,
                               "must be false if x-kubernetes-int-or-string is true"))
    if s.get("uniqueItems") is True:
        errors.append(_forbidden(f"{path}.uniqueItems", "uniqueItems cannot be set to true since the runtime "
                                 "complexity becomes quadratic"))
    if isinstance(s.get("items"), dict):
        errors += _schema_errors(s["items"], f"{path}.items", "item")
    elif isinstance(s.get("items"), list):
        errors.append(_forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if isinstance(extra, dict):
        errors += _schema_errors(extra, f"{path}.additionalProperties", "field")
    props = s.get("properties") or {}
    if not isinstance(props, dict):
        return [*errors, _invalid(f"{path}.properties", props, "must be an object")]
    for key, sub in props.items():
        errors += _schema_errors(sub, f"{path}.properties[{key}]", "field")
    return errors


def _names_errors(names: Any) -> list[Cause]:
    if not isinstance(names, dict):
        return [_required("spec.names.plural"), _required("spec.names.kind")]
    errors = []
    for key in ("plural", "singular", "listKind", "kind"):
        value = names.get(key)
        if key in ("plural", "kind") and not value:
            errors.append(_required(f"spec.names.{key}"))
        elif value and key in ("plural", "singular") and not _DNS_LABEL.match(str(value)):
            errors.append(_invalid(f"spec.names.{key}", value, _LABEL_MSG))
    return errors


def _scale_errors(scale: Any, at: str) -> list[Cause]:
    """A scale subresource's paths: JSON paths under .spec and .status (ValidateCustomResourceDefinition)."""
    if not isinstance(scale, dict):
        return []
    errors = []
    for key, under, where in (("specReplicasPath", (".spec.",), ".spec"),
                              ("statusReplicasPath", (".status.",), ".status"),
                              ("labelSelectorPath", (".spec.", ".status."), "either .spec or .status")):
        path = scale.get(key)
        if not path and key != "labelSelectorPath":
            errors.append(_required(f"{at}.{key}"))
        elif path and (not str(path).startswith(under) or str(path).endswith(".")):
            errors.append(_invalid(f"{at}.{key}", path, f"should be a json path under {where}"))
    return errors


def _versions_errors(versions: Any) -> list[Cause]:
    if not isinstance(versions, list) or not versions:
        return [_invalid("spec.versions", None, "must have exactly one version marked as storage version")]
    errors = []
    for i, v in enumerate(versions):
        at = f"spec.versions[{i}]"
        if not isinstance(v, dict):
            errors.append(_required(f"{at}.name"))
            continue
        if not v.get("name") or not _DNS_LABEL.match(str(v["name"])):
            errors.append(_invalid(f"{at}.name", v.get("name", ""), _LABEL_MSG) if v.get("name")
                          else _required(f"{at}.name"))
        errors += _scale_errors((v.get("subresources") or {}).get("scale"), f"{at}.subresources.scale")
        schema = (v.get("schema") or {}).get("openAPIV3Schema") if isinstance(v.get("schema"), dict) else None
        if schema is None:
            errors.append(_required(f"{at}.schema.openAPIV3Schema", "schemas are required"))
        else:
            errors += sorted(_schema_errors(schema, f"{at}.schema.openAPIV3Schema", "root"),
                             key=lambda c: f"{c[0]}: {c[2]}")
    if sum(1 for v in versions if isinstance(v, dict) and v.get("storage") is True) != 1:
        errors.append(("spec.versions", "FieldValueInvalid", "Invalid value: []apiextensions."
                       "CustomResourceDefinitionVersion{...}: must have exactly one version marked as "
                       "storage version"))
    return errors


def definition_errors(crd: Obj) -> list[Cause]:
    """What ValidateCustomResourceDefinition refuses (422)."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    names, group = spec.get("names"), spec.get("group")
    errors: list[Cause] = []
    name = crd.get("metadata", {}).get("name") or ""
    plural = names.get("plural") if isinstance(names, dict) else None
    if name and name != f"{plural or ''}.{group or ''}":
        errors.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        errors.append(_required("spec.group"))
    elif "." not in str(group):
        errors.append(_invalid("spec.group", group, "should be a domain with at least one dot"))
    elif str(group).endswith((".k8s.io", ".kubernetes.io")) and "api-approved.kubernetes.io" not in (
            crd.get("metadata", {}).get("annotations") or {}):
        errors.append(_required("metadata.annotations[api-approved.kubernetes.io]",
                                "protected groups must have approval annotation "
                                '"api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111'))
    errors += _names_errors(names)
    if spec.get("scope") not in ("Cluster", "Namespaced"):
        errors.append(_required("spec.scope") if not spec.get("scope") else (
            "spec.scope", "FieldValueNotSupported",
            f'Unsupported value: {go_value(spec["scope"])}: supported values: "Cluster", "Namespaced"'))
    return errors + _versions_errors(spec.get("versions"))
