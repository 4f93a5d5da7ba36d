"""PVE routes: parse the request, call the model, serialize in PVE's `{"data": ...}` envelope.

One module per area (`routes_cluster`, `routes_nodes`, `routes_qemu`, `routes_agent`); `table` is all of them.
"""

from __future__ import annotations

from aiohttp import web

from lab.pve import routes_access, routes_agent, routes_cluster, routes_ha, routes_nodes, routes_qemu
from lab.pve.nodes import RELEASE, REPOID

version_table = web.RouteTableDef()


@version_table.get("/api2/json/version")
async def version(request: web.Request) -> web.Response:
    return web.json_response({"data": {"version": RELEASE, "release": RELEASE.rpartition(".")[0],
                                       "repoid": REPOID}})


table: list[web.AbstractRouteDef] = [*version_table, *routes_cluster.table, *routes_nodes.table,
                                     *routes_qemu.table, *routes_agent.table, *routes_access.table,
                                     *routes_ha.table]
