"""How server-side apply sees the built-in types: which lists merge by key, which are sets, what is atomic.

The API server reads this from the OpenAPI extensions `x-kubernetes-list-type`,
`x-kubernetes-list-map-keys` and `x-kubernetes-map-type`; `fieldtypes.json` keeps them for
every struct of the API (made by `python -m lab.k8s.fieldtypes` from the same 1.31
schemas). A list the schemas say nothing about is atomic, as in structured-merge-diff.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from lab.k8s import gotypes

DATA = Path(__file__).with_name("fieldtypes.json")
# the one list-map key with a schema default: a port's protocol
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


@functools.cache
def _data() -> dict[str, Any]:
    return json.loads(DATA.read_text())  # type: ignore[no-any-return]


def struct_fields(expr: str) -> dict[str, str] | None:
    """The fields of a struct type expression (`&name`), or None for anything else."""
    if not expr.startswith("&"):
        return None
    return gotypes.struct(expr[1:])["fields"]  # type: ignore[no-any-return]


def atomic_struct(expr: str) -> bool:
    return expr.startswith("&") and expr[1:] in _data()["atomic"]


def field_relation(expr: str, field: str) -> str | list[str]:
    """A struct field's list type: "atomic", "set", or the list-map keys; "atomic" also marks an
    atomic map field; "granular" for the rest."""
    rel = _data()["fields"].get(expr[1:], {}).get(field) if expr.startswith("&") else None
    return rel if rel is not None else "granular"


def always_present(expr: str, field: str) -> bool:
    """A field the Go zero value of its struct already has (no `omitempty`): a struct held by value, or
    a required field (`containers: null`). Pointer structs cannot be told from value ones in the
    schemas; taking every struct as a value is right for the fields the homelab writes most."""
    if not expr.startswith("&"):
        return False
    fields = struct_fields(expr) or {}
    return fields.get(field, "").startswith("&") or field in _data()["required"].get(expr[1:], ())


def kind_type(kind: str) -> str:
    """The type expression of a kind's object; custom kinds are untyped past their metadata."""
    key = gotypes.kind_struct(kind)
    return f"&{key}" if key else "custom"


# building fieldtypes.json (dev only)

def _relation(prop: dict[str, Any]) -> str | list[str] | None:
    list_type = prop.get("x-kubernetes-list-type")
    if list_type == "map":
        return list(prop.get("x-kubernetes-list-map-keys") or [])
    if list_type in ("set", "atomic"):
        return str(list_type)
    if prop.get("x-kubernetes-map-type") == "atomic":
        return "atomic"
    if "merge" in str(prop.get("x-kubernetes-patch-strategy", "")):  # older tags, as schemaconv reads them
        key = prop.get("x-kubernetes-patch-merge-key")
        return [key] if key else "set"
    return None


def build(definitions: Path) -> dict[str, Any]:
    defs = json.loads(definitions.read_text())["$defs"]
    wanted = [name for name, schema in defs.items() if "properties" in schema]  # every kind, served or not
    fields: dict[str, dict[str, Any]] = {}
    for name in wanted:
        for field, prop in defs[name].get("properties", {}).items():
            if (rel := _relation(prop)) is not None:
                fields.setdefault(name, {})[field] = rel
    atomic = sorted(n for n in wanted if defs[n].get("x-kubernetes-map-type") == "atomic")
    required = {n: sorted(defs[n]["required"]) for n in wanted if defs[n].get("required")}
    return {"atomic": atomic, "fields": fields, "required": required}


if __name__ == "__main__":
    import kubernetes_validate

    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    source = schemas / "v1.31.0-local" / "_definitions.json"
    DATA.write_text(json.dumps(build(source), sort_keys=True, separators=(",", ":")) + "\n")
