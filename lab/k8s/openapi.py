"""A skeleton of /openapi/v3: enough for kubectl to see that the server validates fields itself.

kubectl create/apply ask, per kind, whether the PATCH operation takes the `fieldValidation`
query parameter; when it does, they skip client-side schema validation (which would need the
full schemas). Each group version's document therefore lists its paths and operations with
their `x-kubernetes-group-version-kind`, and no schemas.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from lab.k8s.discovery import VERSION
from lab.k8s.errors import no_such_resource
from lab.k8s.resources import RESOURCES, Resource

_PARAMS = [{"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
           for name in ("dryRun", "fieldManager", "fieldValidation")]


def _prefix(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _operation(res: Resource, verb: str) -> dict[str, Any]:
    return {"operationId": f"{verb}{res.kind}", "parameters": _PARAMS,
            "x-kubernetes-action": verb, "responses": {"200": {"description": "OK"}},
            "x-kubernetes-group-version-kind": {"group": res.group, "version": res.version, "kind": res.kind}}


def _document(group: str, version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for res in RESOURCES:
        if (res.group, res.version) != (group, version):
            continue
        scope = "/namespaces/{namespace}" if res.namespaced else ""
        base = f"/{_prefix(group, version)}{scope}/{res.plural}"
        paths[base] = {"post": _operation(res, "post")}
        paths[base + "/{name}"] = {"put": _operation(res, "put"), "patch": _operation(res, "patch")}
    if not paths:
        raise no_such_resource()
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}


def _hash(group: str, version: str) -> str:
    return hashlib.sha512(json.dumps(_document(group, version)).encode()).hexdigest()[:128].upper()


async def index(request: web.Request) -> web.Response:
    versions = sorted({(r.group, r.version) for r in RESOURCES})
    return web.json_response({"paths": {
        _prefix(g, v): {"serverRelativeURL": f"/openapi/v3/{_prefix(g, v)}?hash={_hash(g, v)}"}
        for g, v in versions}})


async def core(request: web.Request) -> web.Response:
    return web.json_response(_document("", request.match_info["version"]))


async def group(request: web.Request) -> web.Response:
    return web.json_response(_document(request.match_info["group"], request.match_info["version"]))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi/v3", index)
    app.router.add_get("/openapi/v3/api/{version}", core)
    app.router.add_get("/openapi/v3/apis/{group}/{version}", group)
