"""Field paths and field sets of server-side apply, in the `FieldsV1` format of `managedFields`.

A path is a tuple of path elements written as FieldsV1 writes them: `f:spec` (a field),
`k:{"name":"app"}` (a list-map item by its keys), `v:"finalizer"` (a set item), `i:0` (an
index). A field set is a set of paths; a node with children is itself a member only when
`.` says so, as in structured-merge-diff's serialization.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Path = tuple[str, ...]
FieldSet = frozenset[Path]
EMPTY: FieldSet = frozenset()


def field(name: str) -> str:
    return "f:" + name


def value(v: Any) -> str:
    return "v:" + _json(v)


def key(fields: dict[str, Any]) -> str:
    return "k:" + _json(dict(sorted(fields.items())))


def _json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return _tidy(root)


def _tidy(node: dict[str, Any]) -> dict[str, Any]:
    """A member without children is `{}`; with children it keeps `.` first."""
    children = {k: _tidy(v) for k, v in sorted(node.items()) if k != "."}
    if not children:
        return {}
    return {".": {}, **children} if "." in node else children


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    """The paths of a FieldsV1 tree; ValueError where it is not one."""
    if not isinstance(tree, dict):
        raise ValueError("expected an object")
    if not tree and prefix:
        return {prefix}
    paths: set[Path] = set()
    for element, child in tree.items():
        if element == ".":
            if child != {}:
                raise ValueError('"." must be empty')
            paths.add(prefix)
        elif len(element) < 3 or element[1] != ":" or element[0] not in "fkvi":
            raise ValueError(f"unknown path element {element!r}")
        else:
            paths |= from_fields_v1(child, (*prefix, element))
    return paths


def render(path: Path) -> str:
    """The path as the API server prints it in a conflict: `.spec.containers[name="app"].image`."""
    out = []
    for element in path:
        kind, text = element[0], element[2:]
        if kind == "f":
            out.append("." + text)
        elif kind == "k":
            pairs = json.loads(text)
            out.append("[" + ",".join(f"{k}={_json(v)}" for k, v in pairs.items()) + "]")
        elif kind == "v":
            out.append(f"[={text}]")
        else:
            out.append(f"[{text}]")
    return "".join(out)


def with_named_parents(paths: Iterable[Path]) -> set[Path]:
    """The paths plus every field that holds one of them (SMD's EnsureNamedFieldsAreMembers)."""
    out = set(paths)
    for path in list(out):
        out |= {path[:i] for i in range(1, len(path)) if path[i - 1].startswith("f:")}
    return out


def under(paths: Iterable[Path], prefix: Path) -> set[Path]:
    return {p for p in paths if p[:len(prefix)] == prefix}
