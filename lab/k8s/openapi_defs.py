"""The schema definitions behind /openapi/v2 and /openapi/v3: Kubernetes 1.31's, and each CRD's.

`openapi_defs.json.gz` holds the definitions of every GA group of Kubernetes 1.31, in the
shape the API server publishes them (`#/definitions/NAME` references, one type per field,
IntOrString as a string of format int-or-string). It is made from the kubernetes-validate
package's 1.31 schemas (a dev dependency) by `python -m lab.k8s.openapi_defs`.
A CRD version's definition is its openAPIV3Schema, named `com.example.v1.Widget` for a kind
Widget of group example.com, with `metadata` referring to ObjectMeta.
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lab.k8s.resources import Resource

Obj = dict[str, Any]
DATA = Path(__file__).with_name("openapi_defs.json.gz")
REF = "#/definitions/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_META_DOCS = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object. Servers "
                  "should convert recognized schemas to the latest internal value, and may reject "
                  "unrecognized values.",
    "kind": "Kind is a string value representing the REST resource this object represents. Servers may "
            "infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.",
}


@functools.cache
def builtin() -> dict[str, Obj]:
    return json.loads(gzip.decompress(DATA.read_bytes()))  # type: ignore[no-any-return]


def gvk(res: Resource) -> Obj:
    return {"group": res.group, "version": res.version, "kind": res.kind}


@functools.cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    return {(g["group"], g["version"], g["kind"]): name for name, d in builtin().items()
            for g in d.get("x-kubernetes-group-version-kind", ())}


def name_of(res: Resource) -> str | None:
    """The definition of a built-in kind, or the name a CRD's kind is published under."""
    if res.custom:
        return ".".join([*reversed(res.group.split(".")), res.version, res.kind])
    return _by_gvk().get((res.group, res.version, res.kind))


def refs(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref[len(REF):]
        for value in schema.values():
            yield from refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from refs(value)


def closure(roots: dict[str, Obj]) -> dict[str, Obj]:
    """`roots` plus every built-in definition they refer to, transitively."""
    found = dict(roots)
    todo = [r for schema in roots.values() for r in refs(schema)]
    while todo:
        name = todo.pop()
        if name not in found and name in builtin():
            found[name] = builtin()[name]
            todo += refs(found[name])
    return found


def _published(schema: Any) -> Any:
    """A CRD schema as the server publishes it: value validations that v2 cannot say are dropped."""
    if isinstance(schema, list):
        return [_published(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _published(v) for k, v in schema.items() if k not in ("anyOf", "oneOf", "not", "nullable")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out


def custom(res: Resource, schema: Obj | None) -> Obj:
    """The definition of a custom kind's version."""
    body = _published(copy.deepcopy(schema)) if isinstance(schema, dict) else {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}
    props = body.setdefault("properties", {})
    for key, doc in _META_DOCS.items():
        props[key] = {"description": doc, "type": "string"}
    props["metadata"] = {"description": "Standard object's metadata.", "$ref": REF + OBJECT_META}
    body["x-kubernetes-group-version-kind"] = [gvk(res)]
    return body


# building openapi_defs.json.gz from the schemas (dev only)

_PRE_GA = re.compile(r"\.v\d+(alpha|beta)\d*\.")
_SPECIAL = {"io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
            "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"}}


def _normalize(schema: Any, parent_gvk: bool = False) -> Any:
    if isinstance(schema, list):
        return [_normalize(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Obj = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            value = next((t for t in value if t != "null"), None)
            if value is None:
                continue
        elif key == "$ref" and isinstance(value, str):
            value = REF + value.rsplit("/", 1)[-1]
        elif key == "properties" and isinstance(value, dict):
            value = {k: _normalize(v) for k, v in value.items()}
            if parent_gvk:  # the kind and apiVersion enums are kubernetes-validate's, not the server's
                for k in ("apiVersion", "kind"):
                    value.get(k, {}).pop("enum", None)
            out[key] = value
            continue
        out[key] = _normalize(value)
    return out


def build(definitions: Path) -> dict[str, Obj]:
    defs = json.loads(definitions.read_text())["$defs"]
    out = {}
    for name, schema in defs.items():
        if _PRE_GA.search(name):
            continue
        special = _SPECIAL.get(name)
        doc = {"description": schema["description"]} if "description" in schema else {}
        out[name] = {**doc, **special} if special else _normalize(
            schema, "x-kubernetes-group-version-kind" in schema)
    return out


if __name__ == "__main__":
    import kubernetes_validate

    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    source = schemas / "v1.31.0-local" / "_definitions.json"
    text = json.dumps(build(source), sort_keys=True, separators=(",", ":"))
    DATA.write_bytes(gzip.compress(text.encode(), mtime=0))
