"""The Kubernetes API server's HTTP application: record, errors as `Status`, bearer auth, advance,
etcd quorum (`lab/k8s/etcd.py`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from lab.k8s import authn, bootstrap_policy, discovery, etcd, fieldvalidation, openapi, routes, routes_metrics
from lab.k8s.authorizer import CLUSTERROLE, CLUSTERROLEBINDING, Authorizer
from lab.k8s.errors import K8sError, MethodNotAllowed, no_such_resource
from lab.k8s.http import AUTHZ_KEY, LAB_KEY, STOPPING_KEY, USER_KEY, respond
from lab.k8s.rbac import MASTERS, forbidden
from lab.k8s.requestinfo import request_attributes
from lab.k8s.resources import BY_KIND

if TYPE_CHECKING:
    from lab.world import Lab

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = {"/version", "/version/", "/healthz", "/livez", "/readyz"}  # system:public-info-viewer
log = logging.getLogger(__name__)


def _status(exc: K8sError) -> web.Response:
    return respond(exc.status(), exc.code)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except K8sError as exc:  # a warning said before the failure still reaches the client
        response = _status(exc)
    except web.HTTPNotFound:
        if request.path.startswith(("/api/", "/apis/")) or request.path in ("/api", "/apis"):
            return _status(no_such_resource())
        return web.Response(text="404 page not found\n", status=404)
    except web.HTTPMethodNotAllowed:
        return _status(MethodNotAllowed("the server does not allow this method on the requested resource"))
    except (web.HTTPException, asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as exc:  # a lab bug still answers as the API server would, not with a traceback
        log.exception("k8s %s %s failed", request.method, request.path)
        return _status(K8sError(f"Internal error occurred: {type(exc).__name__}: {exc}"))
    if not response.prepared:  # a watch has sent its headers already
        fieldvalidation.add_warnings(request, response)
    return response


def make_auth(token: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Authentication, impersonation, then RBAC on every request but the public health paths."""

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC:
            return await handler(request)
        lab: Lab = request.app[LAB_KEY]  # type: ignore[assignment]
        authz: Authorizer = request.app[AUTHZ_KEY]  # type: ignore[assignment]
        user = authn.authenticate(request.headers, token, lab.k8s.token_key, lab.k8s.store, lab.clock.now())
        user = authn.impersonate(user, request.headers, request.headers.getall("Impersonate-Group", []),
                                 authz.authorize)
        request[USER_KEY] = user
        if MASTERS not in user.groups:  # the privileged group skips the request's parsing too
            attrs = request_attributes(request.method, request.path, request.query)
            allowed, reason = authz.authorize(user, attrs)
            if not allowed:
                raise forbidden(user, attrs, reason)
        return await handler(request)
    return auth


@web.middleware
async def advance(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        request.app[LAB_KEY].advance()  # type: ignore[attr-defined]
    except Exception:  # a controller's bug must not take the API server down with it
        log.exception("advancing the lab before %s %s failed", request.method, request.path)
    return await handler(request)


SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SERVICE = BY_KIND["Service"]
KUBERNETES_SERVICE_IP = "10.43.0.1"  # the first address of K3s' service CIDR


def bootstrap(lab: Lab) -> None:
    """What the API server's bootstrap controller does at start (system namespaces, the `kubernetes`
    Service)."""
    res = routes.NAMESPACES
    for name in SYSTEM_NAMESPACES:
        if lab.k8s.store.find(res, "", name) is None:
            lab.k8s.create(res, {"metadata": {"name": name}})
    if lab.k8s.store.find(SERVICE, "default", "kubernetes") is None:
        lab.k8s.create(SERVICE, {
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": KUBERNETES_SERVICE_IP,
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}})
    # the RBAC bootstrap policy, as the API server's post-start hook reconciles it
    for res, objs in ((CLUSTERROLE, bootstrap_policy.cluster_roles()),
                      (CLUSTERROLEBINDING, bootstrap_policy.cluster_role_bindings())):
        for obj in objs:
            if lab.k8s.store.find(res, "", obj["metadata"]["name"]) is None:
                lab.k8s.create(res, obj)


def make_app(lab: Lab, token: str) -> web.Application:
    quorum = etcd.middleware(lab.k8s)
    middlewares = [lab.recorder.middleware("k8s"), errors, make_auth(token), advance, quorum]
    app = web.Application(middlewares=middlewares, client_max_size=3 * 1024 * 1024)  # the API server's 3 MiB
    app[LAB_KEY] = lab
    app[AUTHZ_KEY] = Authorizer(lab.k8s.store)
    bootstrap(lab)
    stopping = asyncio.Event()
    app[STOPPING_KEY] = stopping

    async def stop_watches(app: web.Application) -> None:
        stopping.set()

    app.on_shutdown.append(stop_watches)
    routes_metrics.add_routes(app)  # before discovery's /apis/{group}/{version}, which would take its paths
    discovery.add_routes(app)
    openapi.add_routes(app)
    routes.add_routes(app)
    return app
