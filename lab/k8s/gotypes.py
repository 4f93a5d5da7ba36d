"""The Go types behind the built-in kinds, so a body of the wrong shape gets the decoder's 400.

The API server decodes a body into Go structs before anything looks at it: `"containers": "x"`
fails there with `json: cannot unmarshal string into Go struct field PodSpec.spec.containers of
type []v1.Container`. `gotypes.json` holds, for every struct reachable from the kinds the lab
serves, each JSON field's type; it is made from the Kubernetes 1.31 schemas of the
kubernetes-validate package (a dev dependency) by `python -m lab.k8s.gotypes`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
from pathlib import Path
from typing import Any

from lab.k8s.resources import RESOURCES

DATA = Path(__file__).with_name("gotypes.json")
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_GO = {"Quantity": "resource.Quantity", "IntOrString": "intstr.IntOrString", "Time": "v1.Time",
       "MicroTime": "v1.MicroTime", "bytes": "[]uint8"}
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
_MICRO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")
_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")


class DecodeError(Exception):
    """The decoder's message, without the "X in version v cannot be handled as a X: " the caller adds."""


@functools.cache
def _types() -> dict[str, Any]:
    return json.loads(DATA.read_text())  # type: ignore[no-any-return]


def struct(key: str) -> dict[str, Any]:
    return _types()["structs"][key]  # type: ignore[no-any-return]


def kind_struct(kind: str) -> str | None:
    return _types()["kinds"].get(kind)  # type: ignore[no-any-return]


def _go(expr: str) -> str:
    if expr.startswith("[]"):
        return "[]" + _go(expr[2:])
    if expr.startswith("map[string]"):
        return "map[string]" + _go(expr[11:])
    if expr.startswith("&"):
        return str(_types()["structs"][expr[1:]]["go"])
    return _GO.get(expr, expr)


def _describe(value: Any, integer: bool) -> str:
    """encoding/json's UnmarshalTypeError.Value: a number that fails an int field is quoted."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {json.dumps(value)}" if integer else "number"
    return {dict: "object", list: "array", str: "string"}[type(value)]


def _fits(value: Any, expr: str) -> bool:
    if expr in ("string", "Time", "MicroTime", "bytes"):
        return isinstance(value, str)
    if expr == "bool":
        return isinstance(value, bool)
    if expr in ("int32", "int64"):
        return isinstance(value, int) and not isinstance(value, bool)
    if expr == "float64":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expr in ("Quantity", "IntOrString"):
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if expr.startswith("[]"):
        return isinstance(value, list)
    return isinstance(value, dict) or expr == "any"


def _micro_time(text: str) -> bool:
    """metav1.MicroTime's layout, RFC3339 with exactly six fractional digits."""
    if not _MICRO.match(text):
        return False
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _utc_micro(text: str) -> str:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _layout_part(text: str) -> tuple[str, str]:
    """What is left of `text` and the layout element where Go's time.Parse stopped."""
    pieces = (("2006", r"\d{4}"), ("-01", r"-\d{2}"), ("-02", r"-\d{2}"), ("T", "T"), ("15", r"\d{2}"),
              (":04", r":\d{2}"), (":05", r":\d{2}"), (".000000", r"\.\d{6}"))
    rest = text
    for layout, pattern in pieces:
        m = re.match(pattern, rest)
        if not m:
            return rest, layout
        rest = rest[m.end():]
    return rest, "Z07:00"


def _base64_error(text: str) -> int | None:
    """Where Go's base64.StdEncoding (padding required) stops on `text`, or None if it decodes."""
    bad = _BASE64.search(text)
    if bad is not None:
        return bad.start()
    if len(text) % 4:
        return len(text) if "=" in text else len(text) - len(text) % 4  # an unpadded last quantum
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        return text.index("=")  # padding before the end
    return None


def _walk(value: Any, expr: str, struct: str, path: str, where: str, unknown: list[str]) -> None:
    """`path` names the Go struct field in a type error; `where` is the same with list indices, as the
    strict decoder names an unknown field."""
    if value is None or expr == "any":
        return  # null leaves a Go field at its zero value
    if not _fits(value, expr):
        raise DecodeError(f"json: cannot unmarshal {_describe(value, expr in ('int32', 'int64'))} into Go "
                          f"struct field {struct}.{path} of type {_go(expr)}")
    if expr == "Quantity" and isinstance(value, str) and not _QUANTITY.match(value):
        raise DecodeError(QUANTITY_MSG)
    if expr == "MicroTime" and value and not _micro_time(value):
        rest, layout = _layout_part(value)
        raise DecodeError(f'parsing time "{value}" as "{RFC3339_MICRO}": cannot parse "{rest}" as "{layout}"')
    if expr == "bytes" and (bad := _base64_error(value)) is not None:
        raise DecodeError(f"illegal base64 data at input byte {bad}")
    if expr.startswith("[]"):
        for i, item in enumerate(value):
            if item is None and (expr[2:] == "string" or expr[2:].startswith("&")):
                value[i] = "" if expr[2:] == "string" else {}  # a null item decodes to the zero value
            _walk(value[i], expr[2:], struct, path, f"{where}[{i}]", unknown)
    elif expr.startswith("map[string]"):
        for name, item in value.items():
            if item is None and expr == "map[string]string":
                value[name] = ""  # null decodes to the zero value
            _walk(item, expr[11:], struct, path, f"{where}.{name}", unknown)
    elif expr.startswith("&"):
        _fields(value, expr[1:], path, where, unknown)


def _fields(obj: dict[str, Any], key: str, path: str, where: str, unknown: list[str]) -> None:
    spec = _types()["structs"][key]
    struct = spec["go"].rsplit(".", 1)[-1]
    for name, value in list(obj.items()):
        here = f"{where}.{name}" if where else name
        if name not in spec["fields"] or value is None:
            # a null field decodes to its zero value, which the server does not send back; an unknown
            # field is dropped (and reported: fieldValidation)
            del obj[name]
            if name not in spec["fields"]:
                unknown.append(here)
                continue
        _walk(value, spec["fields"][name], struct, f"{path}.{name}" if path else name, here, unknown)
        if spec["fields"][name] == "MicroTime" and value:
            obj[name] = _utc_micro(value)  # decoded and encoded again: in UTC, as MarshalJSON writes it


def check(kind: str, obj: dict[str, Any]) -> list[str]:
    """Raise DecodeError where `obj` does not decode into the kind's Go struct (custom kinds: only
    their metadata); drop null and unknown fields in place, as decoding and encoding again would.
    Returns the unknown fields, as the strict decoder names them (`spec.template.spec.containers[0].x`)."""
    unknown: list[str] = []
    key = _types()["kinds"].get(kind)
    if key is not None:
        _fields(obj, key, "", "", unknown)
    else:  # a custom resource: only its metadata has a Go type
        _walk(obj.get("metadata"), "&" + _OBJECT_META, kind, "metadata", "metadata", unknown)
    return unknown


# building gotypes.json from the schemas (dev only)

_SPECIAL = {"io.k8s.apimachinery.pkg.api.resource.Quantity": "Quantity",
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "Time",
            "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime"}


_SUBRESOURCE_BODIES = (("policy", "v1", "Eviction"), ("", "v1", "Binding"), ("autoscaling", "v1", "Scale"),
                       ("authentication.k8s.io", "v1", "TokenRequest"))


def _expr(schema: dict[str, Any], defs: dict[str, Any], todo: list[str]) -> str:
    ref = schema.get("$ref") or next((s["$ref"] for s in schema.get("allOf", []) if "$ref" in s), None)
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in _SPECIAL:
            return _SPECIAL[name]
        if "properties" not in defs[name]:
            return _expr({k: v for k, v in defs[name].items() if k != "$ref"}, defs, todo) or "any"
        todo.append(name)
        return "&" + name
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "array":
        return "[]" + _expr(schema.get("items", {}), defs, todo)
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + _expr(schema["additionalProperties"], defs, todo)
    if kind == "string":
        return "bytes" if schema.get("format") == "byte" else "string"
    if kind == "integer":
        return "int32" if schema.get("format") == "int32" else "int64"
    return {"boolean": "bool", "number": "float64"}.get(str(kind), "any")


def build(definitions: Path) -> dict[str, Any]:
    defs = json.loads(definitions.read_text())["$defs"]
    kinds: dict[str, str] = {}
    served = [(r.group, r.version, r.kind) for r in RESOURCES if not r.stored_as]
    served += list(_SUBRESOURCE_BODIES)
    for group, version, kind in served:
        gvk = {"group": group, "version": version, "kind": kind}
        for name, schema in defs.items():
            if gvk in schema.get("x-kubernetes-group-version-kind", []):
                kinds[kind] = name
    structs: dict[str, Any] = {}
    todo = list(kinds.values())
    while todo:
        name = todo.pop()
        if name in structs:
            continue
        props = defs[name].get("properties", {})
        structs[name] = {"go": ".".join(name.rsplit(".", 2)[-2:]), "fields": {}}
        structs[name]["fields"] = {field: _expr(schema, defs, todo) for field, schema in props.items()}
    return {"kinds": kinds, "structs": structs}


if __name__ == "__main__":
    import kubernetes_validate

    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    source = schemas / "v1.31.0-local" / "_definitions.json"
    DATA.write_text(json.dumps(build(source), sort_keys=True, separators=(",", ":")) + "\n")
