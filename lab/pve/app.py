"""The PVE HTTP application: middlewares (record, errors, auth, schema) around the routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from lab.pve import routes

if TYPE_CHECKING:
    from lab.world import Lab

LAB_KEY = web.AppKey("lab", object)


def make_app(lab: Lab) -> web.Application:
    app = web.Application(middlewares=[lab.recorder.middleware("pve")])
    app[LAB_KEY] = lab
    app.add_routes(routes.table)
    return app
