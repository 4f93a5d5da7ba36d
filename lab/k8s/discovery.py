"""Discovery: /version, /api, /apis and the APIResourceList of each group version."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from lab.k8s import aggregated, metrics_api, registry
from lab.k8s.errors import no_such_resource
from lab.k8s.http import lab_of
from lab.k8s.resources import CREATE_ONLY, Resource

VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.4+k3s1",
           "gitCommit": "a562d7d7a6ac2a7b4bc2a0bbbbf5c0f1ae12e2fd", "gitTreeState": "clean",
           "buildDate": "2024-12-12T02:10:32Z", "goVersion": "go1.22.9", "compiler": "gc",
           "platform": "linux/amd64"}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
CATEGORY_ALL = {"pods", "services", "deployments", "replicasets", "statefulsets", "daemonsets"}
# subresource -> (group, version, kind, verbs); an empty kind means the parent's kind
SUBRESOURCES: dict[str, tuple[str, str, str, list[str]]] = {
    "status": ("", "", "", ["get", "patch", "update"]),
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "binding": ("", "", "Binding", ["create"]),
    "log": ("", "", "", ["get"]),
    "exec": ("", "", "PodExecOptions", ["create", "get"]),
    "attach": ("", "", "PodAttachOptions", ["create", "get"]),
    "portforward": ("", "", "PodPortForwardOptions", ["create", "get"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
}


def _served(request: web.Request) -> tuple[Resource, ...]:
    return registry.served(lab_of(request).k8s.store).resources


def _group_versions(request: web.Request) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for r in _served(request):
        if r.group and r.version not in groups.setdefault(r.group, []):
            groups[r.group].append(r.version)
    if metrics_api.available(lab_of(request).k8s):  # aggregated: listed while its APIService is up
        groups[metrics_api.GROUP] = [metrics_api.VERSION]
    return groups


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def _categories(r: Resource) -> list[str]:
    return ["all"] if r.plural in CATEGORY_ALL and not r.custom else list(r.categories)


def _aggregated(request: web.Request, core: bool) -> web.Response | None:
    """The APIGroupDiscoveryList of the core group or of all named groups, when the client asks for it."""
    version = aggregated.wanted(request.headers.get("Accept", ""))
    if version is None:
        return None
    served = [r for r in _served(request) if bool(r.group) != core]
    groups = {"": ["v1"]} if core else _group_versions(request)
    entries = [(r, aggregated.resource_entry(r, VERBS, SUBRESOURCES, _categories(r))) for r in served]
    if not core and metrics_api.GROUP in groups:
        entries += [(r, aggregated.resource_entry(r, metrics_api.VERBS, SUBRESOURCES, []))
                    for r in metrics_api.RESOURCES]
    body = json.dumps(aggregated.document(version, groups, entries), separators=(",", ":"))
    return web.Response(body=body.encode(), headers={"Content-Type": aggregated.media_type(version),
                                                     "Vary": "Accept"})


def _resource_entries(r: Resource) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"name": r.plural, "singularName": r.singular or r.kind.lower(),
                             "namespaced": r.namespaced, "kind": r.kind,
                             "verbs": ["create"] if r.kind in CREATE_ONLY and not r.custom else VERBS}
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if categories := _categories(r):
        entry["categories"] = categories
    entries = [entry]
    for sub in r.subresources:
        group, version, kind, verbs = SUBRESOURCES[sub]
        e: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                             "kind": kind or r.kind, "verbs": verbs}
        if group:
            e["group"], e["version"] = group, version
        entries.append(e)
    return entries


async def version(request: web.Request) -> web.Response:
    return web.json_response(VERSION)


async def api_versions(request: web.Request) -> web.Response:
    if found := _aggregated(request, core=True):
        return found
    host = request.host if ":" in request.host else f"{request.host}:443"
    return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})


async def api_groups(request: web.Request) -> web.Response:
    if found := _aggregated(request, core=False):
        return found
    return web.json_response({"kind": "APIGroupList", "apiVersion": "v1",
                              "groups": [_group(g, vs) for g, vs in _group_versions(request).items()]})


async def api_group(request: web.Request) -> web.Response:
    name = request.match_info["group"]
    versions = _group_versions(request).get(name)
    if not versions:
        raise no_such_resource()
    return web.json_response({"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)})


def _resource_list(request: web.Request, group: str, version: str) -> web.Response:
    entries = [e for r in _served(request) if (r.group, r.version) == (group, version)
               for e in _resource_entries(r)]
    if not entries:
        raise no_such_resource()
    return web.json_response({"kind": "APIResourceList", "apiVersion": "v1",
                              "groupVersion": f"{group}/{version}" if group else version,
                              "resources": entries})


async def core_resources(request: web.Request) -> web.Response:
    return _resource_list(request, "", "v1")


async def group_resources(request: web.Request) -> web.Response:
    return _resource_list(request, request.match_info["group"], request.match_info["version"])


def add_routes(app: web.Application) -> None:
    paths = {"/version": version, "/api": api_versions, "/api/v1": core_resources, "/apis": api_groups,
             "/apis/{group}": api_group, "/apis/{group}/{version}": group_resources}
    for path, handler in paths.items():  # with and without the trailing slash, as the server answers
        app.router.add_get(path, handler)
        app.router.add_get(path + "/", handler)
