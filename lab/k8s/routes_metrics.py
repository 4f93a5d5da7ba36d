"""HTTP of the aggregated metrics.k8s.io API (see lab/k8s/metrics_api.py): parse, call, serialize."""

from __future__ import annotations

from aiohttp import web

from lab.k8s import metrics_api
from lab.k8s.errors import MethodNotAllowed
from lab.k8s.http import lab_of, respond
from lab.k8s.lists import label_filter

PREFIX = f"/apis/{metrics_api.GROUP}/{metrics_api.VERSION}"


def _list(request: web.Request, kind: str, items: list[metrics_api.Obj]) -> web.Response:
    keep = label_filter(request.query.get("labelSelector"))
    return respond({"kind": f"{kind}List", "apiVersion": f"{metrics_api.GROUP}/{metrics_api.VERSION}",
                    "metadata": {}, "items": [m for m in items if keep(m)]})


async def resources(request: web.Request) -> web.Response:
    metrics_api.check(lab_of(request).k8s)
    return respond(metrics_api.discovery_list())


async def nodes(request: web.Request) -> web.Response:
    cluster = lab_of(request).k8s
    name, now = request.match_info.get("name"), cluster.clock()
    if name:
        return respond(metrics_api.read_node_metrics(cluster, name, now))
    return _list(request, "NodeMetrics", metrics_api.list_node_metrics(cluster, now))


async def pods(request: web.Request) -> web.Response:
    cluster = lab_of(request).k8s
    namespace, name = request.match_info.get("namespace"), request.match_info.get("name")
    now = cluster.clock()
    if name and namespace:
        return respond(metrics_api.read_pod_metrics(cluster, namespace, name, now))
    return _list(request, "PodMetrics", metrics_api.list_pod_metrics(cluster, namespace, now))


async def read_only(request: web.Request) -> web.Response:
    raise MethodNotAllowed("the server does not allow this method on the requested resource")


def add_routes(app: web.Application) -> None:
    """Registered before the generic routes, so these paths never reach the object store."""
    paths = {PREFIX: resources, f"{PREFIX}/nodes": nodes, f"{PREFIX}/nodes/{{name}}": nodes,
             f"{PREFIX}/pods": pods, f"{PREFIX}/namespaces/{{namespace}}/pods": pods,
             f"{PREFIX}/namespaces/{{namespace}}/pods/{{name}}": pods}
    for path, handler in paths.items():
        app.router.add_get(path, handler)
        app.router.add_route("*", path, read_only)
