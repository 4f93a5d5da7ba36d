"""K3s' embedded etcd: every server that joined is a member; the API works while a majority
of members runs (quorum). A server that was uninstalled stays a member until its Node is
deleted (K3s' etcd controller removes the member then). Without quorum the API server answers
as it does when etcd times out: Status 500 `etcdserver: request timed out`, /readyz failing
its etcd check, and the controllers (which write through it) stand still.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lab.k8s.controllers.base import NODE

if TYPE_CHECKING:
    from lab.k8s.models import K8sCluster

TIMED_OUT = "etcdserver: request timed out"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# kube-apiserver 1.31's readyz checks (in its order); etcd's is the one quorum fails
CHECKS = (
    "ping",
    "log",
    "etcd",
    "etcd-readiness",
    "informer-sync",
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/bootstrap-controller",
    "poststarthook/apiservice-registration-controller",
    "shutdown",
)
ETCD_CHECKS = frozenset({"etcd", "etcd-readiness"})
DISCOVERY = re.compile(r"/apis?|/api/v1|/apis/[^/]+(/[^/]+)?|/openapi/.*")


def members(cluster: K8sCluster, now: float) -> tuple[int, int]:
    """(members running, members) of the etcd cluster."""
    nodes = {n["metadata"]["name"] for n in cluster.store.iter(NODE)}
    cluster.etcd_departed &= nodes  # a deleted Node's member is removed
    servers = [
        (name, vm)
        for vm in cluster.pve.vms.values()
        if (join := cluster.joins.get(vm.name)) is not None
        and join.role == "server"
        and join.registered(now)
        and (name := join.node_name or vm.name) is not None
    ]
    alive = sum(1 for _, vm in servers if cluster.vm_alive(vm, now))
    return alive, len(servers) + len(cluster.etcd_departed - {name for name, _ in servers})


def quorate(cluster: K8sCluster, now: float) -> bool:
    alive, total = members(cluster, now)
    return total == 0 or alive * 2 > total


def status() -> dict[str, Any]:
    """The apiserver's Status for an error it did not classify: no reason, the error's own text."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": TIMED_OUT,
        "code": 500,
    }


def health_text(path: str, ok: bool, verbose: bool) -> str:
    if ok and not verbose:
        return "ok"
    lines = [
        f"[-]{c} failed: reason withheld" if not ok and c in ETCD_CHECKS else f"[+]{c} ok"
        for c in CHECKS
        if path != "/livez" or c != "etcd-readiness"
    ]
    end = f"{path.strip('/')} check failed" if not ok else f"{path.strip('/')} check passed"
    return "\n".join(lines) + f"\n{end}\n"


def middleware(cluster: K8sCluster) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """/healthz, /livez and /readyz with their etcd checks; while etcd has no quorum, every request
    for objects fails (discovery and /version, served from memory, still answer)."""

    @web.middleware
    async def etcd_quorum(request: web.Request, handler: Handler) -> web.StreamResponse:
        ok = quorate(cluster, cluster.clock())
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            text = health_text(path, ok, "verbose" in request.query)
            return web.Response(status=200 if ok else 500, text=text, content_type="text/plain")
        if ok or path == "/version" or DISCOVERY.fullmatch(path):  # served from memory, not etcd
            return await handler(request)
        return web.json_response(status(), status=500)

    return etcd_quorum
