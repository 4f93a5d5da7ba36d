"""PVE's own API schema (apidata-pve9.json.gz) as pveproxy uses it: find the handler, check the parameters.

The checks and their wording follow pve-common's PVE::JSONSchema (`check_prop`, `check_type`,
`check_object`) and PVE::RESTHandler's legacy normalization of form-encoded values.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from lab.pve.domain import ParamError, PveError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
PARAMS_KEY = web.RequestKey("pve_params", dict)  # the checked parameters, URI ones included

SCHEMA_FILE = "apidata-pve9.json.gz"
MISSING = "property is missing and it is not optional"
NOT_DEFINED = "property is not defined in schema and the schema does not allow additional properties"

# The formats PVE checks that our routes take; other formats pass (the lab does not use them).
FORMATS = {
    "pve-node": (re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"),
                 "value does not look like a valid node name"),
    "pve-vmid": (re.compile(r"[1-9][0-9]{2,8}"), "value does not look like a valid VM ID"),
    "pve-storage-id": (re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]"),
                       "storage ID '{}' contains illegal characters"),
}
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?")


class NotImplementedMethod(PveError):
    """pveproxy's answer for a path or method it has no handler for."""

    status = 501

    def __init__(self, method: str, rel_path: str) -> None:
        super().__init__(f"Method '{method} {rel_path}' not implemented")


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: tuple[str, _Node] | None = None
    path: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # method -> method info


class ApiSchema:
    """The tree of PVE API paths; `lookup` resolves a request path like PVE::RESTHandler does."""

    def __init__(self, roots: list[dict[str, Any]]) -> None:
        self._root = _Node(path="/")
        for node in _walk(roots):
            self._add(node["path"], node.get("info") or {})

    @classmethod
    @cache
    def load(cls) -> ApiSchema:
        data = resources.files("lab.pve").joinpath(SCHEMA_FILE).read_bytes()
        return cls(json.loads(gzip.decompress(data)))

    def _add(self, path: str, info: dict[str, Any]) -> None:
        node = self._root
        for seg in _segments(path):
            if seg.startswith("{") and seg.endswith("}"):
                if node.param is None:
                    node.param = (seg[1:-1], _Node())
                node = node.param[1]
            else:
                node = node.literal.setdefault(seg, _Node())
        node.path, node.info = path, info

    def find(self, rel_path: str) -> tuple[_Node, dict[str, str]] | None:
        """The schema node of a request path and the path's parameters, literal segments first."""
        return _match(self._root, _segments(rel_path), {})

    def lookup(self, method: str, rel_path: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        """(schema path, method info, URI parameters), or pveproxy's 501."""
        found = self.find(rel_path)
        if found is None or method not in found[0].info:
            raise NotImplementedMethod(method, rel_path)
        node, uri_params = found
        assert node.path is not None
        return node.path, node.info[method], uri_params

    def methods(self, schema_path: str) -> set[str]:
        found = self.find(schema_path)
        return set(found[0].info) if found and found[0].path == schema_path else set()


def _walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from _walk(node.get("children") or [])


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _match(node: _Node, segs: list[str], params: dict[str, str]) -> tuple[_Node, dict[str, str]] | None:
    if not segs:
        return (node, params) if node.path is not None else None
    head, rest = segs[0], segs[1:]
    if head in node.literal and (found := _match(node.literal[head], rest, params)):
        return found
    if node.param is not None:
        name, child = node.param
        return _match(child, rest, {**params, name: head})
    return None


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
    msg = _scalar_error(_scalar(value), schema)
    if msg:
        _add(errors, path, msg)


def _scalar_error(text: str, schema: Mapping[str, Any]) -> str | None:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in FORMATS:
        regex, wording = FORMATS[fmt]
        if not regex.fullmatch(text):
            return f"invalid format - {wording.format(text)}\n"
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


async def request_params(request: web.Request) -> dict[str, Any]:
    """Query and body parameters the way pveproxy's extract_params reads them (query wins)."""
    params: dict[str, Any] = {}
    if request.method in ("POST", "PUT") and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError as exc:
                raise PveError(f"malformed JSON string: {exc}") from None
            if not isinstance(body, dict):
                raise PveError("malformed JSON string: not an object")
            params.update(body)
        else:
            params.update(_multi(parse_qsl((await request.read()).decode(), keep_blank_values=True)))
    params.update(_multi(parse_qsl(request.query_string, keep_blank_values=True)))
    params.pop("_dc", None)  # ExtJS's cache buster; pveproxy drops it
    return params


def _multi(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            old = out[key]
            out[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            out[key] = value
    return out


def schema_middleware(schema: ApiSchema, base: str = "/api2/json") -> Middleware:
    """Refuse what pveproxy refuses (501 unknown method, 400 bad parameters); leave params in request."""

    @web.middleware
    async def check_schema(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(base + "/"):
            return await handler(request)
        rel = request.path[len(base):]
        _, info, uri_params = schema.lookup(request.method, rel)
        params = await request_params(request)
        for key, value in params.items():
            if key in uri_params and uri_params[key] != value:
                raise ParamError(key, "duplicate parameter (already defined in URI) with conflicting values!")
        parameters = info.get("parameters") or {}
        params = normalize({**params, **uri_params}, parameters)
        errors = check_parameters(parameters, params)
        if errors:
            raise PveError("Parameter verification failed.", 400, errors)
        request[PARAMS_KEY] = params
        return await handler(request)

    return check_schema
