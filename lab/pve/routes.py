"""PVE routes: parse the request, call the model, serialize in PVE's `{"data": ...}` envelope.

One module per area (`routes_cluster`, `routes_nodes`, `routes_qemu`); `table` is all of them.
"""

from __future__ import annotations

from aiohttp import web

from lab.pve import routes_cluster, routes_nodes, routes_qemu

version_table = web.RouteTableDef()


@version_table.get("/api2/json/version")
async def version(request: web.Request) -> web.Response:
    return web.json_response({"data": {"version": "9.1.1", "release": "9.1",
                                       "repoid": "42ab3d9f1e5c2d7b"}})


table: list[web.AbstractRouteDef] = [*version_table, *routes_cluster.table, *routes_nodes.table,
                                     *routes_qemu.table]
