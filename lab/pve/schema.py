"""PVE's own API schema (apidata-pve9.json.gz) as pveproxy uses it: find the handler, check the parameters.

The lookup follows PVE::RESTHandler (literal path segments before `{param}` ones); the
parameter checks are in `lab.pve.validate`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from lab.pve.domain import ParamError, PveError
from lab.pve.validate import check_parameters, normalize

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
Authorize = Callable[[web.Request, dict[str, Any], dict[str, Any]], None]  # raises PveError to refuse
PARAMS_KEY = web.RequestKey("pve_params", dict)  # the checked parameters, URI ones included

API_ROOT = "/api2/json"  # pveproxy serves the JSON API under this prefix
SCHEMA_FILE = "apidata-pve9.json.gz"
MAX_POST = 512 * 1024  # pveproxy's $limit_max_post


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


class DataTooLarge(PveError):
    """pveproxy refuses a body over its limit before reading it."""

    status = 501

    def __init__(self) -> None:
        super().__init__("for data too large")


async def request_params(request: web.Request) -> dict[str, Any]:
    """Query and body parameters the way pveproxy's extract_params reads them (query wins)."""
    params: dict[str, Any] = {}
    if request.content_length and request.method not in ("POST", "PUT"):
        raise PveError(f"Unexpected content for method '{request.method}'", 501)
    if request.method in ("POST", "PUT") and request.can_read_body:
        if (request.content_length or 0) > MAX_POST:
            raise DataTooLarge()
        ctype = request.headers.get("Content-Type")
        if ctype and request.content_type not in ("application/x-www-form-urlencoded", "application/json"):
            raise PveError(f"upload 'Content-Type '{ctype}' not implemented", 506)
        raw = await request.read()
        if request.content_type == "application/json":
            try:
                body = json.loads(raw or b"{}")
            except ValueError as exc:
                raise PveError(f"malformed JSON string: {exc}") from None
            if not isinstance(body, dict):
                raise PveError("malformed JSON string: not an object")
            params.update(body)
        else:
            # pveproxy decodes values as UTF-8 leniently: bad bytes become U+FFFD, not an error
            params.update(_multi(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True)))
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


def schema_middleware(schema: ApiSchema, authorize: Authorize | None = None) -> Middleware:
    """Refuse what pveproxy refuses (501 unknown method, 403 by `authorize`, 400 bad parameters);
    leave the checked parameters in the request."""

    @web.middleware
    async def check_schema(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_ROOT + "/"):
            return await handler(request)
        rel = request.path.removeprefix(API_ROOT)
        _, info, uri_params = schema.lookup(request.method, rel)
        params = await request_params(request)
        for key, value in params.items():
            if key in uri_params and uri_params[key] != value:
                raise ParamError(key, "duplicate parameter (already defined in URI) with conflicting values!")
        if authorize is not None:  # pveproxy checks permissions before the parameters
            authorize(request, info, {**params, **uri_params})
        parameters = info.get("parameters") or {}
        params = normalize({**params, **uri_params}, parameters)
        errors = check_parameters(parameters, params)
        if errors:
            raise PveError("Parameter verification failed.", 400, errors)
        request[PARAMS_KEY] = params
        return await handler(request)

    return check_schema
