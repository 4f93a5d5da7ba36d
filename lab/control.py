"""The lab's own loopback HTTP endpoint: /metrics for Prometheus, /lab/* for faults and state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from lab.world import Lab

LAB_KEY = web.AppKey("lab", object)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def make_app(lab: Lab) -> web.Application:
    app = web.Application()
    app[LAB_KEY] = lab
    app.router.add_get("/healthz", healthz)
    return app
