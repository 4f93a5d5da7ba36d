"""A custom resource against its CRD's structural schema: pruning, defaulting, then validation.

The order and the wording are the apiextensions-apiserver's: unknown fields are dropped
(unless `x-kubernetes-preserve-unknown-fields`), `null` for a field that is not `nullable` is
dropped, defaults fill what is missing, and then the OpenAPI validator's errors become
field errors (`spec.addresses: Invalid value: "string": spec.addresses in body must be of type
array: "string"`).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

Obj = dict[str, Any]
Cause = tuple[str, str, str]  # field, reason, message
_ROOT_KEEP = ("apiVersion", "kind", "metadata")


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "null")


def go_value(value: Any) -> str:
    """A value as a field error prints it (strings quoted, numbers and booleans bare)."""
    return json.dumps(value, separators=(",", ":"))


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune(schema: Obj, value: Any, path: str = "", pruned: list[str] | None = None) -> list[str]:
    """Drop, in place, fields the schema does not know and nulls it does not allow; returns their paths."""
    pruned = [] if pruned is None else pruned
    if isinstance(value, dict) and not schema.get("x-kubernetes-embedded-resource"):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key in list(value):
            if not path and key in _ROOT_KEEP:
                continue
            sub = props.get(key) if isinstance(props, dict) else None
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if not schema.get("x-kubernetes-preserve-unknown-fields") and extra is not True:
                    del value[key]
                    pruned.append(_child(path, key))
                continue
            if value[key] is None and not sub.get("nullable") and "default" not in sub:
                del value[key]
                continue
            prune(sub, value[key], _child(path, key), pruned)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            prune(schema["items"], item, f"{path}[{i}]", pruned)
    return pruned


def default(schema: Obj, value: Any) -> None:
    """Fill in, in place, the schema's defaults where a field is missing (or null and not nullable)."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            if "default" in sub and (key not in value or (value[key] is None and not sub.get("nullable"))):
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                default(sub, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            default(schema["items"], item)


def _type_ok(want: str, got: str) -> bool:
    return want == got or (want == "number" and got == "integer")


def _bounds(schema: Obj, value: Any, path: str) -> list[Cause]:
    where, causes = f"{path} in body", []
    shown = go_value(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            causes.append(f"should be greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            causes.append(f"should be less than or equal to {schema['maximum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return [(path, "FieldValueTooLong", f"Too long: may not be longer than {schema['maxLength']}")]
        if "minLength" in schema and len(value) < schema["minLength"]:
            causes.append(f"should be at least {schema['minLength']} chars long")
        if "pattern" in schema and not _matches(schema["pattern"], value):
            causes.append(f"should match '{schema['pattern']}'")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return [(path, "FieldValueTooMany",
                     f"Too many: {len(value)}: must have at most {schema['maxItems']} items")]
        if "minItems" in schema and len(value) < schema["minItems"]:
            causes.append(f"should have at least {schema['minItems']} items")
            shown = str(len(value))
    return [(path, "FieldValueInvalid", f"Invalid value: {shown}: {where} {text}") for text in causes]


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True  # CRD validation refuses a pattern that does not compile


def validate(schema: Obj, value: Any, path: str = "") -> list[Cause]:
    """The validator's errors for `value` (already pruned and defaulted)."""
    got, want = json_type(value), schema.get("type")
    if value is None:
        if schema.get("nullable") or not want:
            return []
        return [(path, "FieldValueTypeInvalid",
                 f'Invalid value: "null": {path} in body must be of type {want}: "null"')]
    if schema.get("x-kubernetes-int-or-string"):
        if got not in ("integer", "string"):
            return [(path, "FieldValueTypeInvalid",
                     f'Invalid value: "{got}": {path} in body must be of type integer,string: "{got}"')]
    elif want and not _type_ok(want, got):
        return [(path, "FieldValueTypeInvalid",
                 f'Invalid value: "{got}": {path} in body must be of type {want}: "{got}"')]
    causes: list[Cause] = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(go_value(v) for v in schema["enum"])
        causes.append((path, "FieldValueNotSupported",
                       f"Unsupported value: {go_value(value)}: supported values: {allowed}"))
    causes += _bounds(schema, value, path)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key in schema.get("required") or ():
            if key not in value:
                causes.append((_child(path, key), "FieldValueRequired", "Required value"))
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if not path and key in _ROOT_KEEP:
                continue
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if isinstance(sub, dict):
                causes += validate(sub, item, _child(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            causes += validate(schema["items"], item, f"{path}[{i}]")
    return causes
