"""PVE routes: parse the request, call the model, serialize in PVE's `{"data": ...}` envelope."""

from __future__ import annotations

from aiohttp import web

table = web.RouteTableDef()


@table.get("/api2/json/version")
async def version(request: web.Request) -> web.Response:
    return web.json_response({"data": {"version": "9.1.1", "release": "9.1",
                                       "repoid": "42ab3d9f1e5c2d7b"}})
