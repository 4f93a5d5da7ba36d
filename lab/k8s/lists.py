"""List responses: selectors, `limit`/`continue` pagination, the `<Kind>List` envelope."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from lab.k8s import selectors
from lab.k8s.errors import BadRequest, Invalid
from lab.k8s.registry import present
from lab.k8s.resources import Resource
from lab.k8s.store import Store

Obj = dict[str, Any]
Filter = Callable[[Obj], bool]


def label_filter(text: str | None) -> Filter:
    reqs = selectors.parse_label_selector(text)
    return lambda obj: selectors.labels_match(reqs, obj)


def field_filter(text: str | None, res: Resource) -> Filter:
    reqs = selectors.parse_field_selector(text, res.kind)
    return lambda obj: selectors.fields_match(reqs, obj)


def _encode_continue(rv: int, start: tuple[str, str]) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": rv, "start": "/".join(start) + "\x00"}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        start = json.loads(base64.urlsafe_b64decode(token.encode()))["start"].rstrip("\x00")
        ns, _, name = start.rpartition("/")
        return ns, name
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise BadRequest("continue key is not valid: incorrect encoded start resourceVersion "
                         "(version meta.k8s.io/v1)") from None


def _limit(text: str | None) -> int:
    if not text:
        return 0
    try:
        limit = int(text)
    except ValueError:
        limit = None
    if limit is None or not -(2**63) <= limit < 2**63:  # ListOptions.limit is an int64
        why = "invalid syntax" if limit is None else "value out of range"
        raise BadRequest(f'limit: Invalid value: "{text}": strconv.ParseInt: parsing "{text}": {why}')
    return max(limit, 0)  # a negative limit lists everything, as 0 does


def _bare(obj: Obj) -> Obj:
    """Items of a built-in kind's list carry no kind/apiVersion (custom resources keep theirs)."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def list_body(store: Store, res: Resource, namespace: str | None, keep: Filter,
              limit_text: str | None, continue_token: str | None) -> Obj:
    items = [o for o in store.list(res, namespace) if keep(o)]
    if continue_token:
        after = _decode_continue(continue_token)
        items = [o for o in items
                 if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
    meta: Obj = {"resourceVersion": str(store.resource_version)}
    limit = _limit(limit_text)
    if limit and len(items) > limit:
        last = items[limit - 1]["metadata"]
        meta["continue"] = _encode_continue(store.resource_version,
                                            (last.get("namespace", ""), last["name"]))
        meta["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    return {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta,
            "items": [present(res, o) if res.custom else _bare(present(res, o)) for o in items]}


def _forbidden(field: str, why: str) -> tuple[str, str, str]:
    return field, "FieldValueForbidden", f"Forbidden: {why}"


def _not_supported(field: str, value: str, allowed: list[str]) -> tuple[str, str, str]:
    supported = ", ".join(f'"{v}"' for v in allowed)
    return field, "FieldValueNotSupported", f'Unsupported value: "{value}": supported values: {supported}'


_WHY = {  # ValidateListOptions' reasons, by what they refuse
    "needs-not-older": "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
    "watch-list-off": "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
    "watch-match": "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
    "continue": "resourceVersionMatch is forbidden when continue is provided",
    "no-rv": "resourceVersionMatch is forbidden unless resourceVersion is provided",
    "exact-0": 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    "list-initial": "sendInitialEvents is forbidden for list",
}
MATCH, INITIAL = "resourceVersionMatch", "sendInitialEvents"


def _list_option_errors(query: Any, watching: bool) -> list[tuple[str, str, str]]:
    match, initial, cont = query.get(MATCH, ""), query.get(INITIAL), query.get("continue")
    errors = []
    if watching:
        if initial is not None:
            if match != "NotOlderThan":
                errors.append(_forbidden(MATCH, _WHY["needs-not-older"]))
            errors.append(_forbidden(INITIAL, _WHY["watch-list-off"]))
        if match and initial is None:
            errors.append(_forbidden(MATCH, _WHY["watch-match"]))
        if match and match != "NotOlderThan":
            errors.append(_not_supported(MATCH, match, ["NotOlderThan"]))
        if match and cont:
            errors.append(_forbidden(MATCH, _WHY["continue"]))
        return errors
    rv = query.get("resourceVersion", "")
    if match and not rv:
        errors.append(_forbidden(MATCH, _WHY["no-rv"]))
    if match and cont:
        errors.append(_forbidden(MATCH, _WHY["continue"]))
    if match and match not in ("Exact", "NotOlderThan"):
        errors.append(_not_supported(MATCH, match, ["Exact", "NotOlderThan", ""]))
    if match == "Exact" and rv == "0":
        errors.append(_forbidden(MATCH, _WHY["exact-0"]))
    if initial is not None:
        errors.append(_forbidden(INITIAL, _WHY["list-initial"]))
    return errors


def check_list_options(query: Any, watching: bool) -> None:
    """apimachinery's ValidateListOptions (the WatchList feature gate off, as in 1.31): 422 on ListOptions."""
    if errors := _list_option_errors(query, watching):
        texts = [f"{field}: {message}" for field, _, message in errors]
        joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        raise Invalid(f'ListOptions.meta.k8s.io "" is invalid: {joined}', {
            "group": "meta.k8s.io", "kind": "ListOptions",
            "causes": [{"reason": r, "message": m, "field": f} for f, r, m in errors]})
