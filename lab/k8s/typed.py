"""Objects seen through their schema, as structured-merge-diff sees them for server-side apply.

A node's type is a gotypes expression (`&struct`, `[]T`, `map[string]T`, a scalar, `any`)
with the relation its struct field declares (fieldtypes): lists merge by key (list-map), as
sets, or whole (atomic, the default); structs and maps merge field by field unless atomic.
Custom resources are untyped past their metadata: maps merge, lists are atomic.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from lab.k8s import fieldtypes
from lab.k8s.fieldpaths import Path, key, render, value
from lab.k8s.fieldpaths import field as field_element

Relation = str | list[str]
_OBJECT_META = "&io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_MISSING = object()


class TypedError(Exception):
    """A value the schema refuses, in structured-merge-diff's words (`.spec.bogus: field not declared
    in schema`)."""


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)


def _child(expr: str, name: str, path: Path, strict: bool) -> tuple[str, Relation]:
    if expr == "custom":
        return (_OBJECT_META, "granular") if name == "metadata" else ("any", "granular")
    fields = fieldtypes.struct_fields(expr)
    if fields is not None:
        if name in fields:
            return fields[name], fieldtypes.field_relation(expr, name)
        if strict:
            raise TypedError(f"{render((*path, field_element(name)))}: field not declared in schema")
        return "any", "granular"
    return (expr[11:] if expr.startswith("map[string]") else "any"), "granular"


def _leaf(expr: str, rel: Relation, v: Any) -> bool:
    """Owned whole: a scalar, anything atomic, a list the schema gives no merge type (SMD's default)."""
    if rel == "atomic" or fieldtypes.atomic_struct(expr):
        return True
    if isinstance(v, dict):
        return not (expr.startswith(("&", "map[string]")) or expr in ("any", "custom"))
    if isinstance(v, list):
        return not (expr.startswith("[]") and (rel == "set" or isinstance(rel, list)))
    return True


def _element(item: Any, rel: Relation, i: int, path: Path) -> str:
    if rel == "set":
        return value(item)
    assert isinstance(rel, list)
    if not isinstance(item, dict):
        raise TypedError(f"{render(path)}: element {i}: associative list with keys has an element that "
                         "is not a map type")
    fields = {}
    for k in rel:
        v = item.get(k, fieldtypes.KEY_DEFAULTS.get(k, _MISSING))
        if v is _MISSING or v is None:
            raise TypedError(f"{render(path)}: element {i}: associative list with keys has an element that "
                             f'omits key field "{k}" (and doesn\'t have default value)')
        fields[k] = v
    return key(fields)


def _index(items: list[Any], rel: Relation, path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        pe = _element(item, rel, i, path)
        if pe in out:
            raise TypedError(f"{render(path)}: duplicate entries for key {render((pe,))}")
        out[pe] = item
    return out


def field_set(obj: Any, expr: str) -> set[Path]:
    """Every field `obj` sets (ToFieldSet): leaves, list items, empty maps; undeclared fields refused."""
    out: set[Path] = set()
    _field_set(obj, expr, "granular", (), out)
    return out


_NUMBER = ("numeric (int or float)", (int, float))
_STRING_OR_NUMBER = ("string or number", (str, int, float))
_SHAPES: dict[str, tuple[str, tuple[type, ...]]] = {
    "string": ("string", (str,)), "Time": ("string", (str,)), "bytes": ("string", (str,)),
    "bool": ("boolean", (bool,)), "int32": _NUMBER, "int64": _NUMBER, "float64": _NUMBER,
    "Quantity": _STRING_OR_NUMBER, "IntOrString": _STRING_OR_NUMBER}


def _check_shape(v: Any, expr: str, path: Path) -> None:
    """A value of the wrong kind for its schema (`.spec.replicas: expected numeric (int or float), got
    string`), as the typed conversion refuses it."""
    if expr.startswith(("&", "map[string]")):
        wanted, types = "map", (dict,)
    elif expr.startswith("[]"):
        wanted, types = "list", (list,)
    elif expr in _SHAPES:
        wanted, types = _SHAPES[expr]
    else:
        return
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
        got = {dict: "map", list: "list", str: "string", bool: "boolean"}.get(type(v), "numeric")
        raise TypedError(f"{render(path)}: expected {wanted}, got {got}")


def _field_set(v: Any, expr: str, rel: Relation, path: Path, out: set[Path]) -> None:
    if v is not None:
        _check_shape(v, expr, path)
    if v is None or _leaf(expr, rel, v) or (isinstance(v, dict) and not v):
        if path:
            out.add(path)
        return
    if isinstance(v, dict):
        for name, child in v.items():
            _field_set(child, *_child(expr, name, path, strict=True), (*path, field_element(name)), out)
        return
    for pe, item in _index(v, rel, path).items():
        out.add((*path, pe))
        if rel != "set":
            _field_set(item, expr[2:], "granular", (*path, pe), out)


def compare(old: Any, new: Any, expr: str) -> Comparison:
    """What changed from `old` to `new`, by path; a map or list item that appears or goes is itself
    added or removed, with everything under it."""
    c = Comparison()
    _compare(old, new, expr, "granular", (), c, True)
    return c


def _compare(old: Any, new: Any, expr: str, rel: Relation, path: Path, c: Comparison, present: bool) -> None:
    """`present`: the node is in `old`, at least as the zero value of its Go struct (which has every
    struct and required field: those are never added themselves)."""
    if old is None and new is None:
        return
    sample = new if new is not None else old
    kinds = {type(x) for x in (old, new) if x is not None}
    if _leaf(expr, rel, sample) or len(kinds) > 1 or not (old or new):
        if old is None:
            c.added.add(path)
        elif new is None:
            c.removed.add(path)
        elif old != new:
            c.modified.add(path)
        return
    if isinstance(sample, dict):
        o, n = old or {}, new or {}
        for name in dict.fromkeys([*o, *n]):
            child_expr, child_rel = _child(expr, name, path, strict=False)
            child_present = name in o or (present and fieldtypes.always_present(expr, name))
            _compare(o.get(name), n.get(name), child_expr, child_rel, (*path, field_element(name)), c,
                     child_present)
    else:
        o_items, n_items = _index(old or [], rel, path), _index(new or [], rel, path)
        item_expr = "string" if rel == "set" else expr[2:]
        for pe in dict.fromkeys([*o_items, *n_items]):
            _compare(o_items.get(pe), n_items.get(pe), item_expr, "granular", (*path, pe), c, pe in o_items)
    if path and not present:
        c.added.add(path)
    elif path and new is None:
        c.removed.add(path)


def merge(live: Any, config: Any, expr: str, rel: Relation = "granular") -> Any:
    """The applied configuration over the live object: fields merge, list-maps by key, sets as a union,
    atomic values are replaced."""
    if config is None or _leaf(expr, rel, config) or type(live) is not type(config):
        return copy.deepcopy(config)
    if isinstance(config, dict):
        out = dict(live)
        for name, child in config.items():
            out[name] = merge(live.get(name), child, *_child(expr, name, (), strict=False))
        return out
    items = _index(live, rel, ())
    merged = {pe: copy.deepcopy(item) for pe, item in items.items()}
    order = list(items)
    for pe, item in _index(config, rel, ()).items():
        merged[pe] = item if rel == "set" else merge(merged.get(pe), item, expr[2:])
        if pe not in items:
            order.append(pe)
    return [merged[pe] for pe in order]


def remove(obj: Any, paths: set[Path]) -> None:
    """Remove, in place, what each path names (a field, a list item by key or value) with all under it."""
    done: list[Path] = []
    for path in sorted(paths, key=len):  # a parent first: its children go with it
        if not any(path[:len(d)] == d for d in done):
            _remove(obj, path)
            done.append(path)


def _remove(node: Any, path: Path) -> None:
    for i, element in enumerate(path):
        kind, text = element[0], element[2:]
        last = i == len(path) - 1
        if kind == "f" and isinstance(node, dict) and text in node:
            if last:
                del node[text]
                return
            node = node[text]
            continue
        if kind in "kvi" and isinstance(node, list):
            pos = next((n for n, item in enumerate(node) if _names(item, kind, text, n)), None)
            if pos is None:
                return
            if last:
                del node[pos]
                return
            node = node[pos]
            continue
        return


def _names(item: Any, kind: str, text: str, n: int) -> bool:
    if kind == "i":
        return str(n) == text
    if kind == "v":
        return value(item) == "v:" + text
    fields = json.loads(text)
    return isinstance(item, dict) and all(item.get(k, fieldtypes.KEY_DEFAULTS.get(k)) == v
                                          for k, v in fields.items())
