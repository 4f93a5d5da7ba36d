"""Parameter checks in pve-common's PVE::JSONSchema wording (`check_prop`, `check_type`,
`check_object`), and PVE::RESTHandler's legacy normalization of form-encoded values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lab.pve.formats import FormatError, check_format

MISSING = "property is missing and it is not optional"
NOT_DEFINED = "property is not defined in schema and the schema does not allow additional properties"

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?")


def normalize(params: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """RESTHandler's legacy normalization: one form value for an array, a list for a '-list' string."""
    props = schema.get("properties") or {}
    out = dict(params)
    for key, value in params.items():
        prop = props.get(key)
        if not prop or value in (None, "", []):
            continue
        if isinstance(value, list) and prop.get("type") == "string" and \
                str(prop.get("format", "")).endswith("-list"):
            out[key] = ",".join(str(v) for v in value)
        elif not isinstance(value, list) and prop.get("type") == "array":
            out[key] = [value]
    return out


_INDEXED = re.compile(r"(?<=[a-z])\d+$")


def check_parameters(schema: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, str]:
    """PVE's per-field errors for `params` against a method's `parameters` schema ({} when valid)."""
    errors: dict[str, str] = {}
    props = schema.get("properties") or {}
    for name in sorted(props):
        _check_prop(params.get(name), props[name], name, errors)
    additional = schema.get("additionalProperties")
    for name in params:
        if name in props:
            continue
        indexed = props.get(_INDEXED.sub("[n]", name))  # ipconfig0 is the schema's `ipconfig[n]`
        if indexed is not None:
            _check_prop(params[name], indexed, name, errors)
        elif additional is not None and not additional:
            _add(errors, name, NOT_DEFINED)
    return errors


def _add(errors: dict[str, str], path: str, msg: str) -> None:
    # PVE joins repeated errors with a literal backslash-n (single-quoted in Perl)
    errors[path] = f"{errors[path]}\\n{msg}" if path in errors else msg


def _perl_type(value: Any) -> str:
    if isinstance(value, bool):
        return "JSON::PP::Boolean"
    return "ARRAY" if isinstance(value, list) else "HASH"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _check_type(path: str, kind: str | None, value: Any, errors: dict[str, str]) -> bool:
    if not kind or kind == "any":
        return True
    if kind in ("array", "object"):
        ok = isinstance(value, list) if kind == "array" else isinstance(value, dict)
        if not ok:
            _add(errors, path, f"type check ('{kind}') failed")
        return ok
    if isinstance(value, list | dict) or (isinstance(value, bool) and kind != "boolean"):
        _add(errors, path, f"type check ('{kind}') failed - got {_perl_type(value)}")
        return False
    text = _scalar(value)
    valid = {"boolean": text in ("0", "1"), "integer": bool(_INTEGER.fullmatch(text)),
             "number": bool(_NUMBER.fullmatch(text))}.get(kind, True)
    if not valid:
        _add(errors, path, f"type check ('{kind}') failed - got '{text}'")
    return valid


def _check_prop(value: Any, schema: Mapping[str, Any], path: str, errors: dict[str, str]) -> None:
    if schema.get("alias"):
        return
    if value is None:
        if schema.get("type") != "null" and not schema.get("optional"):
            _add(errors, path, MISSING)
        return
    if not _check_type(path, schema.get("type"), value, errors):
        return
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _check_prop(item, items, f"{path}[{i}]", errors)
        return
    if isinstance(value, dict):
        return
    msg = _scalar_error(_scalar(value), schema, path)
    if msg:
        _add(errors, path, msg)


def _scalar_error(text: str, schema: Mapping[str, Any], path: str) -> str | None:
    fmt = schema.get("format")
    if isinstance(fmt, str):
        try:
            check_format(fmt, text, path, split_list)
        except FormatError as exc:
            return f"invalid format - {exc.message}"
    pattern = schema.get("pattern")
    if pattern:
        try:
            if not re.fullmatch(pattern, text):
                return "value does not match the regex pattern"
        except re.error:
            pass  # a Perl-only construct: PVE's own check is the authority, skip it here
    if "maxLength" in schema and len(text) > schema["maxLength"]:
        return f"value may only be {schema['maxLength']} characters long"
    if "minLength" in schema and len(text) < schema["minLength"]:
        return f"value must be at least {schema['minLength']} characters long"
    if _NUMBER.fullmatch(text):
        if "maximum" in schema and float(text) > float(schema["maximum"]):
            return f"value must have a maximum value of {schema['maximum']}"
        if "minimum" in schema and float(text) < float(schema["minimum"]):
            return f"value must have a minimum value of {schema['minimum']}"
    enum = schema.get("enum")
    if enum and text not in [str(e) for e in enum]:
        return f"value '{text}' does not have a value in the enumeration '{', '.join(map(str, enum))}'"
    return None


def split_list(text: str) -> list[str]:
    """PVE::ParseUtils::split_list: items separated by commas, semicolons or white space."""
    return text.split("\0") if "\0" in text else re.sub(r"[,;]", " ", text).split()
