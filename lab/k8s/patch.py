"""The three patch types the API server accepts: JSON patch, merge patch, strategic merge patch.

Strategic merge follows the `patchStrategy`/`patchMergeKey` tags of the Kubernetes API
types for the fields the homelab touches: containers, env, ports, volumes and conditions
merge by key, finalizers merge as a set, every other list (taints, tolerations) is
replaced whole.
"""

from __future__ import annotations

import copy
from typing import Any

from lab.k8s.errors import BadRequest, Invalid, K8sError, UnsupportedMediaType

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# (parent field, list field) -> merge key, from the API types' patchMergeKey tags.
MERGE_KEYS: dict[tuple[str, str], str] = {
    ("metadata", "ownerReferences"): "uid",
    **{("spec", f): "name" for f in ("containers", "initContainers", "ephemeralContainers", "volumes",
                                      "imagePullSecrets")},
    **{(c, "env"): "name" for c in ("containers", "initContainers")},
    **{(c, "ports"): "containerPort" for c in ("containers", "initContainers")},
    **{(c, "volumeMounts"): "mountPath" for c in ("containers", "initContainers")},
    ("spec", "ports"): "port",  # Service
    ("spec", "hostAliases"): "ip",
    ("status", "conditions"): "type",
    ("status", "addresses"): "type",
    ("status", "podIPs"): "ip",
}
# Lists of scalars with patchStrategy "merge": the patch adds to them.
MERGE_SETS = {("metadata", "finalizers"), ("spec", "podCIDRs")}


class UnprocessablePatch(K8sError):
    """A JSON patch that does not apply: the server answers 422 with the library's message."""

    reason, code = "Invalid", 422


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# JSON patch (RFC 6902)

def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise UnprocessablePatch(f'invalid JSON pointer "{path}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, op: str, path: str, adding: bool = False) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or int(token) > len(container) - (0 if adding else 1):
        raise UnprocessablePatch(f"{op} operation does not apply: doc is missing path: \"{path}\"")
    return int(token)


def _parent(doc: Any, tokens: list[str], op: str, path: str) -> Any:
    node = doc
    for tok in tokens[:-1]:
        if isinstance(node, dict) and tok in node:
            node = node[tok]
        elif isinstance(node, list):
            node = node[_index(node, tok, op, path)]
        else:
            raise UnprocessablePatch(f"{op} operation does not apply: doc is missing path: \"{path}\"")
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens, op, path), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, op, path)]
    raise UnprocessablePatch(f"{op} operation does not apply: doc is missing path: \"{path}\"")


def _remove(doc: Any, path: str, op: str) -> Any:
    tokens = _pointer(path)
    if not tokens:  # the whole document has no parent to be removed from
        raise UnprocessablePatch(f"{op} operation does not apply: doc is missing path: \"{path}\"")
    parent, last = _parent(doc, tokens, op, path), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, op, path))
    raise UnprocessablePatch(f"{op} operation does not apply: doc is missing path: \"{path}\"")


def _add(doc: Any, path: str, value: Any, op: str, replace: bool = False) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, op, path), tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise UnprocessablePatch(f"{op} operation does not apply: doc is missing key: {path}")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, op, path)] = value
        else:
            parent.insert(_index(parent, last, op, path, adding=True), value)
    else:
        raise UnprocessablePatch(f"{op} operation does not apply: doc is missing path: \"{path}\"")
    return doc


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list) or not all(isinstance(o, dict) for o in ops):
        raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for o in ops:
        op, path = o.get("op"), o.get("path", "")
        if op in ("add", "replace", "test") and "value" not in o:
            raise UnprocessablePatch(f"{op} operation does not apply: missing value")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(o["value"]), op)
        elif op == "replace":
            doc = _add(doc, path, copy.deepcopy(o["value"]), op, replace=True)
        elif op == "remove":
            _remove(doc, path, op)
        elif op in ("move", "copy"):
            value = _get(doc, o.get("from", ""), op)
            if op == "move":
                _remove(doc, o.get("from", ""), op)
            doc = _add(doc, path, copy.deepcopy(value), op)
        elif op == "test":
            if _get(doc, path, op) != o["value"]:
                raise UnprocessablePatch(f"testing value {path} failed: test failed")
        else:
            raise UnprocessablePatch(f"Unexpected kind: {op}")
    return doc


# strategic merge patch

def strategic_merge_patch(target: Any, patch: Any, parent: str = "") -> Any:
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in copy.deepcopy(patch).items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
        elif key.startswith("$"):
            continue
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, parent, key)
        else:
            merged = strategic_merge_patch(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    for key, order in patch.items():
        if key.startswith("$setElementOrder/"):
            field = key.split("/", 1)[1]
            result[field] = _ordered(result.get(field) or [], order, MERGE_KEYS.get((parent, field)))
    if "$retainKeys" in patch:
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _merge_list(current: Any, patch: list[Any], parent: str, field: str) -> list[Any]:
    current = current if isinstance(current, list) else []
    if (parent, field) in MERGE_SETS:
        return current + [v for v in patch if v not in current]
    key = MERGE_KEYS.get((parent, field))
    if key is None or any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    result = list(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise BadRequest(f"map: {item} does not contain declared merge key: {key}")
        pos = next((i for i, c in enumerate(result) if isinstance(c, dict) and c.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if pos is not None:
                result.pop(pos)
        elif pos is None:
            result.append(copy.deepcopy(item))
        else:
            result[pos] = strategic_merge_patch(result[pos], item, field)
    return result


def _ordered(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """`$setElementOrder`: the patch's order first, then items the patch did not name."""
    def ident(x: Any) -> Any:
        return x.get(key) if key and isinstance(x, dict) else x
    rank = {ident(o): i for i, o in enumerate(order)}
    return sorted(items, key=lambda x: rank.get(ident(x), len(rank)))


def _accepted(custom: bool) -> str:
    types = [JSON_PATCH, MERGE_PATCH] + ([] if custom else [STRATEGIC_MERGE_PATCH]) + [APPLY_PATCH]
    return ("the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(types))


def require_field_manager(field_manager: str | None) -> None:
    if not field_manager:
        raise Invalid('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
                      "for apply patch", {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                          {"reason": "FieldValueRequired", "message": "Required value: is required for apply "
                           "patch", "field": "fieldManager"}]})


def apply_patch(current: Any, content_type: str, body: Any, *, custom: bool,
                field_manager: str | None = None) -> Any:
    """The patched object; custom resources (CRDs) take no strategic merge patch, as on a real server."""
    if content_type == JSON_PATCH:
        return json_patch(current, body)
    if not isinstance(body, dict):
        raise BadRequest(f"json: cannot unmarshal {type(body).__name__} into Go value of type "
                         "map[string]interface {}")
    if content_type == MERGE_PATCH:
        return merge_patch(current, body)
    if content_type == STRATEGIC_MERGE_PATCH and not custom:
        return strategic_merge_patch(current, body)
    if content_type == APPLY_PATCH:
        require_field_manager(field_manager)
        # only /scale comes here (the routes apply with field managers, managed.py): a plain merge
        return merge_patch(current, body) if custom else strategic_merge_patch(current, body)
    raise UnsupportedMediaType(_accepted(custom))
