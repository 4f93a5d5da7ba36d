"""/openapi/v2 and /openapi/v3: the served kinds' schemas, built-in (Kubernetes 1.31) and custom.

kubectl reads them for `explain`, for the patch strategy of `apply` and, through the PATCH
operation's `fieldValidation` parameter, to learn that the server validates fields itself.
/openapi/v2 is served as JSON or, when asked, as the protobuf client-go decodes; /openapi/v3
lists one document per served group version, each with its paths and components.
Documents follow the served kinds: creating or deleting a CRD changes them.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import Any

from aiohttp import web

from lab.k8s import crds, openapi_defs, openapi_pb, registry
from lab.k8s.discovery import VERSION
from lab.k8s.http import lab_of
from lab.k8s.resources import Resource
from lab.k8s.store import Store

Obj = dict[str, Any]
_PARAMS = [{"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
           for name in ("dryRun", "fieldManager", "fieldValidation")]
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_SHARED = tuple(_META + n for n in ("DeleteOptions", "Status", "Patch", "WatchEvent"))
# the patch types a PATCH takes: strategic merge only for built-in kinds, as kubectl apply checks
_PATCHES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
_STRATEGIC = "application/strategic-merge-patch+json"


def _prefix(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _operation(res: Resource, verb: str, v3: bool) -> Obj:
    op: Obj = {"operationId": f"{verb}{res.kind}", "responses": {"200": {"description": "OK"}},
               "x-kubernetes-action": verb, "x-kubernetes-group-version-kind": openapi_defs.gvk(res)}
    if v3 and verb in ("post", "put", "patch"):
        op["parameters"] = _PARAMS
    if verb == "patch":
        types = _PATCHES if res.custom else (*_PATCHES, _STRATEGIC)
        if v3:
            op["requestBody"] = {"content": {t: {"schema": {"$ref": openapi_defs.REF + _META + "Patch"}}
                                             for t in types}}
        else:
            op["consumes"] = list(types)
    return op


def _paths(resources: list[Resource], v3: bool) -> Obj:
    paths: Obj = {}
    for res in resources:
        scope = "/namespaces/{namespace}" if res.namespaced else ""
        base = f"/{_prefix(res.group, res.version)}{scope}/{res.plural}"
        paths[base] = {"get": _operation(res, "list", False), "post": _operation(res, "post", v3)}
        paths[base + "/{name}"] = {"get": _operation(res, "get", False), "put": _operation(res, "put", v3),
                                   "patch": _operation(res, "patch", v3),
                                   "delete": _operation(res, "delete", False)}
    return paths


def _definitions(store: Store, resources: list[Resource]) -> Obj:
    roots: Obj = {}
    for res in resources:
        name = openapi_defs.name_of(res)
        if res.custom and name:
            crd = registry.crd_of(store, res)
            roots[name] = openapi_defs.custom(res, crds.version_schema(crd, res.version))
        elif name:
            roots[name] = openapi_defs.builtin()[name]
            listed = f"{name}List"
            if listed in openapi_defs.builtin():
                roots[listed] = openapi_defs.builtin()[listed]
    for name in _SHARED:
        roots[name] = openapi_defs.builtin()[name]
    return dict(sorted(openapi_defs.closure(roots).items()))


def _info() -> Obj:
    return {"title": "Kubernetes", "version": VERSION["gitVersion"]}


class Documents:
    """The documents of one state of the served kinds, built when first asked for."""

    def __init__(self, store: Store, served: registry.Served) -> None:
        self.store, self.served = store, served
        self._v2: Obj | None = None
        self._v2_pb: bytes | None = None
        self._v2_json: bytes | None = None
        self._v3: dict[tuple[str, str], str] = {}

    def v2(self) -> Obj:
        if self._v2 is None:
            resources = list(self.served.resources)
            self._v2 = {"swagger": "2.0", "info": _info(), "paths": _paths(resources, False),
                        "definitions": _definitions(self.store, resources)}
        return self._v2

    def v2_json(self) -> bytes:
        if self._v2_json is None:
            self._v2_json = json.dumps(self.v2(), separators=(",", ":")).encode()
        return self._v2_json

    def v2_protobuf(self) -> bytes:
        if self._v2_pb is None:
            self._v2_pb = openapi_pb.document(self.v2())
        return self._v2_pb

    def group_versions(self) -> list[tuple[str, str]]:
        return sorted({(r.group, r.version) for r in self.served.resources})

    def v3(self, group: str, version: str) -> str | None:
        if (group, version) not in self._v3:
            resources = [r for r in self.served.resources if (r.group, r.version) == (group, version)]
            if not resources:
                return None
            doc = {"openapi": "3.0.0", "info": _info(), "paths": _paths(resources, True),
                   "components": {"schemas": _definitions(self.store, resources)}}
            text = json.dumps(doc, separators=(",", ":"))
            self._v3[(group, version)] = text.replace('"$ref":"#/definitions/',
                                                      '"$ref":"#/components/schemas/')
        return self._v3[(group, version)]


_CACHE: weakref.WeakKeyDictionary[Store, Documents] = weakref.WeakKeyDictionary()


def documents(store: Store) -> Documents:
    served = registry.served(store)
    docs = _CACHE.get(store)
    if docs is None or docs.served is not served:
        docs = _CACHE[store] = Documents(store, served)
    return docs


def _docs(request: web.Request) -> Documents:
    return documents(lab_of(request).k8s.store)


def _v2_format(accept: str) -> str | None:
    """kube-openapi's negotiation: the first Accept clause naming JSON or the protobuf wins."""
    for clause in (accept or "*/*").split(","):
        media = clause.split(";")[0].strip()
        kind, _, sub = media.partition("/")
        if kind in ("application", "*") and sub in ("json", "*"):
            return "json"
        if kind == "application" and sub in openapi_pb.ACCEPTED:
            return "protobuf"
    return None


async def v2(request: web.Request) -> web.Response:
    docs = _docs(request)
    kind = _v2_format(request.headers.get("Accept", ""))
    if kind is None:
        return web.Response(status=406, text="406 Not Acceptable")
    if kind == "protobuf":
        body, media = docs.v2_protobuf(), openapi_pb.MEDIA_TYPE
    else:
        body, media = docs.v2_json(), "application/json"
    return web.Response(body=body, content_type=media, headers={"Vary": "Accept"})


def _hash(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest().upper()


async def index(request: web.Request) -> web.Response:
    docs = _docs(request)
    return web.json_response({"paths": {
        _prefix(g, v): {"serverRelativeURL": f"/openapi/v3/{_prefix(g, v)}?hash={_hash(docs.v3(g, v) or '')}"}
        for g, v in docs.group_versions()}})


def _v3(request: web.Request, group: str) -> web.Response:
    text = _docs(request).v3(group, request.match_info["version"])
    if text is None:  # kube-openapi's handler: a bare 404, not a Status
        return web.Response(status=404)
    return web.Response(text=text, content_type="application/json")


async def core(request: web.Request) -> web.Response:
    return _v3(request, "")


async def group(request: web.Request) -> web.Response:
    return _v3(request, request.match_info["group"])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi/v2", v2)
    app.router.add_get("/openapi/v3", index)
    app.router.add_get("/openapi/v3/api/{version}", core)
    app.router.add_get("/openapi/v3/apis/{group}/{version}", group)
