"""The PVE HTTP application: middlewares around the routes, outermost first.

record (every request) -> api faults (slow/flaky answers) -> errors (domain error -> PVE's
answer) -> methods pveproxy knows -> advance the lab's clock -> auth (token/ticket/CSRF) ->
schema (501, 403 permissions, 400) -> route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from lab.pve.domain import PveError
from lab.pve.schema import Handler, Middleware

if TYPE_CHECKING:
    from lab.world import Lab

LAB_KEY = web.AppKey("lab", object)
NOW_KEY = web.RequestKey("lab_now", float)  # the lab time this request is served at
KNOWN_METHODS = ("GET", "POST", "PUT", "DELETE")


def _advance(lab: Lab) -> Middleware:
    @web.middleware
    async def advance(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[NOW_KEY] = lab.advance()
        return await handler(request)

    return advance


@web.middleware
async def known_methods(request: web.Request, handler: Handler) -> web.StreamResponse:
    """pveproxy takes GET, POST, PUT and DELETE only (HEAD too is 501), before any auth."""
    if request.method not in KNOWN_METHODS:
        raise PveError(f"method '{request.method}' not available", 501)
    return await handler(request)


def make_app(lab: Lab) -> web.Application:
    # Imported here: route modules import LAB_KEY from this module.
    from lab.ceph import routes as ceph_routes
    from lab.ceph import routes_osd
    from lab.faults import api_faults_middleware
    from lab.pve import auth, routes
    from lab.pve.errors import pve_errors
    from lab.pve.permissions import authorizer
    from lab.pve.schema import ApiSchema, schema_middleware

    pve_auth = auth.PveAuth(lab.pve.tokens, lab.pve.passwords, lab.clock.now)
    app = web.Application(middlewares=[
        lab.recorder.middleware("pve"),
        api_faults_middleware(lab.api_faults),
        pve_errors,
        known_methods,
        _advance(lab),
        auth.auth_middleware(pve_auth),
        schema_middleware(ApiSchema.load(), authorize=authorizer(lab.pve.privileges)),
    ])
    app[LAB_KEY] = lab
    app.add_routes(routes.table)
    app.add_routes(ceph_routes.table)
    app.add_routes(routes_osd.table)
    app.add_routes(auth.make_routes(pve_auth))
    return app
