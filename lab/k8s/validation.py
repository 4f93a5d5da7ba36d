"""Decoding and validating request bodies, with the API server's 400 and 422 wording."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from lab.k8s import conversion, fieldvalidation, gotypes, strategies
from lab.k8s.errors import BadRequest, Invalid, object_details, qualified
from lab.k8s.resources import Resource
from lab.k8s.selectors import selector_matches

Obj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_NAME_PART_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
                  "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
                  "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
              "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
              "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
# libyaml's loader when PyYAML has it: a 3 MiB body parses in about a second, not several
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TYPE_META = 'APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\""'
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                  "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                  "regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
              "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
              "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def _summary(body: bytes) -> str:
    """`summarizeData(body, 30)` of the API server: JSON-looking text as is, anything else as hex."""
    if not body:
        return "<empty>"
    cut = body[:30]
    text = cut.decode(errors="replace") if body[:1] == b"{" else cut.hex()
    return text + (" ..." if len(body) > 30 else "")


# Python's JSON errors in the words of Go's encoding/json, which the API server quotes
_GO_JSON = {"Expecting value": "looking for beginning of value",
            "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
            "Expecting ':' delimiter": "after object key",
            "Expecting ',' delimiter": "after object key:value pair",
            "Extra data": "after top-level value"}


def _go_json_error(exc: json.JSONDecodeError) -> str:
    if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated"):
        return "unexpected end of JSON input"
    return f"invalid character {exc.doc[exc.pos]!r} {_GO_JSON.get(exc.msg, 'looking for beginning of value')}"


def decode(body: bytes, res: Resource, content_type: str = "application/json") -> Any:
    """The request body as JSON (or YAML when sent as YAML); 400 with the server's wording otherwise."""
    return decode_fields(body, res, content_type)[0]


def decode_fields(body: bytes, res: Resource, content_type: str = "application/json",
                  ) -> tuple[Any, list[str]]:
    """The body, and the fields a JSON body repeats (`duplicate field "x"`)."""
    try:
        if "yaml" in content_type:
            return yaml.load(body, Loader=_YAML_LOADER) or {}, []
        return fieldvalidation.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = (_go_json_error(exc) if isinstance(exc, json.JSONDecodeError)
                  else "error converting YAML to JSON")
        raise BadRequest(f"the object provided is unrecognized (must be of type {res.kind}): couldn't "
                         f"get version/kind; json parse error: {reason} ({_summary(body)})") from None


def decode_object(body: bytes, res: Resource, content_type: str = "application/json") -> Obj:
    return decode_object_fields(body, res, content_type)[0]


def decode_object_fields(body: bytes, res: Resource, content_type: str = "application/json",
                         ) -> tuple[Obj, list[str]]:
    """The body as an object of `res` without its unknown fields, and the strict decoder's complaints
    (duplicate and unknown fields) for fieldValidation."""
    obj, problems = decode_fields(body, res, content_type)
    if not isinstance(obj, dict):
        raise BadRequest(f"the object provided is unrecognized (must be of type {res.kind}): couldn't get "
                         f"version/kind; json parse error: json: cannot unmarshal {go_type(obj)} into Go "
                         f"value of type struct {{ {_TYPE_META} }} ({_summary(body)})")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind and kind != res.kind:
        version = str(api_version or "").rsplit("/", 1)[-1]
        raise BadRequest(f'{kind} in version "{version}" cannot be handled as a {res.kind}: '
                         f"converting ({version}.{kind}) to ({version}.{res.kind}): unknown conversion")
    if api_version and api_version != res.api_version:
        raise BadRequest(f"the API version in the data ({api_version}) does not match the expected "
                         f"API version ({res.api_version})")
    try:
        problems += fieldvalidation.unknown(_unknown_fields(res, obj))
    except gotypes.DecodeError as exc:
        raise _cannot_handle(res, str(exc)) from None
    return obj, problems


def _unknown_fields(res: Resource, obj: Obj) -> list[str]:
    """gotypes.check on the Go type of `res`: an events.k8s.io Event is checked as the core Event it is
    stored as (its fields renamed there and back), whose struct gotypes knows by the kind's name."""
    if not res.stored_as:
        return gotypes.check(res.kind, obj)
    stored = conversion.stored(res, obj)
    unknown = gotypes.check(res.kind, stored)
    obj.clear()
    obj.update(conversion.served(res, stored))
    return unknown


def cannot_handle_prefix(res: Resource) -> str:
    return f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '


def go_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "bool"}.get(type(value), "number")


def _cannot_handle(res: Resource, reason: str) -> BadRequest:
    return BadRequest(cannot_handle_prefix(res) + reason)


def check_patched(res: Resource, patched: Any) -> list[str]:
    """A patch whose result does not decode: 422 on the field `patch`, as the patcher words it. Drops
    unknown fields, and returns them for fieldValidation."""
    if not isinstance(patched, dict):
        raise BadRequest(f"the object provided is unrecognized (must be of type {res.kind})")
    try:
        return fieldvalidation.unknown(_unknown_fields(res, patched))
    except gotypes.DecodeError as exc:
        text = json.dumps(patched, separators=(",", ":"))
        message = f'Invalid value: "{text}": {exc}'
        raise Invalid(f' "" is invalid: patch: {message}', {
            "name": "", "kind": "", "causes": [{"reason": "FieldValueInvalid", "message": message,
                                                "field": "patch"}]}) from None


def invalid(res: Resource, name: str, causes: list[tuple[str, str, str]]) -> Invalid:
    """422 Invalid: `causes` are (field, reason, message) like field.ErrorList."""
    texts = [f"{field}: {message}" for field, _, message in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return Invalid(f'{qualified(res.kind, res.group)} "{name}" is invalid: {joined}',
                   {**object_details(res.kind, name, res.group),
                    "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]})


def _label_causes(labels: dict[str, Any]) -> list[tuple[str, str, str]]:
    causes = []
    for key, value in labels.items():
        prefix, _, part = key.rpartition("/")
        if not _NAME_PART.match(part) or len(part) > 63:
            causes.append(("metadata.labels", "FieldValueInvalid",
                           f'Invalid value: "{key}": {_NAME_PART_MSG}'))
        elif prefix and not (_SUBDOMAIN.match(prefix) and len(prefix) <= 253):
            causes.append(("metadata.labels", "FieldValueInvalid",
                           f'Invalid value: "{key}": prefix part {_SUBDOMAIN_MSG}'))
        if not isinstance(value, str):
            continue  # a decode error, refused before validation
        if len(value) > 63:
            causes.append(("metadata.labels", "FieldValueInvalid",
                           f'Invalid value: "{value}": must be no more than 63 characters'))
        elif value and not _NAME_PART.match(value):
            causes.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{value}": {_VALUE_MSG}'))
    return causes


WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")


def _go_map(labels: dict[str, str] | None) -> str:
    """A label map as Go's %#v prints it in a field error."""
    if labels is None:
        return "map[string]string(nil)"
    pairs = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items()))
    return "map[string]string{" + pairs + "}"


def _workload_causes(spec: Obj) -> list[tuple[str, str, str]]:
    """ValidatePodTemplateSpecForReplicaSet and its kin: a selector that selects the template's pods."""
    causes = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels")
    if selector is None:
        causes.append(("spec.selector", "FieldValueRequired", "Required value"))
    try:
        matches = selector_matches(selector, labels)
    except (KeyError, TypeError, AttributeError):  # an unknown operator: the selector's own error, not this
        matches = True
    if not matches:
        causes.append(("spec.template.metadata.labels", "FieldValueInvalid",
                       f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`"))
    return causes + _container_causes("spec.template.spec", template.get("spec") or {})


def _container_causes(path: str, pod_spec: Obj) -> list[tuple[str, str, str]]:
    """Containers are required, each with a name and an image (a `null` one decodes as empty)."""
    containers = pod_spec.get("containers")
    if not containers:
        return [(f"{path}.containers", "FieldValueRequired", "Required value")]
    causes = []
    for i, c in enumerate(containers):
        for field in ("name", "image"):
            if not (c or {}).get(field):
                causes.append((f"{path}.containers[{i}].{field}", "FieldValueRequired", "Required value"))
    return causes


def path_segment_problems(name: str) -> list[str]:
    """path.IsValidPathSegmentName."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in name]


def check_object(res: Resource, obj: Obj, *, creating: bool) -> None:
    meta = obj.setdefault("metadata", {})
    name = meta.get("name") or ""
    causes: list[tuple[str, str, str]] = []
    if not name and not (creating and meta.get("generateName")):
        causes.append(("metadata.name", "FieldValueRequired",
                       "Required value: name or generateName is required"))
    elif res.group == "rbac.authorization.k8s.io":  # path segment names: `system:discovery` is valid
        causes += [("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {msg}')
                   for msg in path_segment_problems(name)]
    elif name:
        pattern, msg = (_LABEL, _LABEL_MSG) if res.kind == "Namespace" else (_SUBDOMAIN, _SUBDOMAIN_MSG)
        if not pattern.match(name) or len(name) > 253:
            causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {msg}'))
    causes += _label_causes(meta.get("labels") or {})
    if res.kind == "Pod":
        causes += _container_causes("spec", obj.get("spec") or {})
    if res.kind in WORKLOADS:
        causes += _workload_causes(obj.get("spec") or {})
    if res.kind == "Job":
        template = (obj.get("spec") or {}).get("template") or {}
        causes += _container_causes("spec.template.spec", template.get("spec") or {})
    causes += strategies.causes(res.kind, obj)
    if causes:
        raise invalid(res, name, causes)


def check_target(res: Resource, obj: Obj, namespace: str | None, name: str | None) -> None:
    """The body must name the object of the URL (400 BadRequest otherwise, as the server words it)."""
    meta = obj.setdefault("metadata", {})
    if name is not None and meta.get("name") and meta["name"] != name:
        raise BadRequest(f"the name of the object ({meta['name']}) does not match the name on the URL "
                         f"({name})")
    if name is not None and not meta.get("name"):
        meta["name"] = name
    if res.namespaced and namespace is not None:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent "
                             "on the request")
        meta["namespace"] = namespace
