"""`/cluster/...` routes: status, resources, nextid and ha-manager."""

from __future__ import annotations

from aiohttp import web

from lab.pve.handlers import call, data

table = web.RouteTableDef()
BASE = "/api2/json/cluster"


@table.get(f"{BASE}/status")
async def cluster_status(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.cluster_status(c.now))


@table.get(f"{BASE}/resources")
async def cluster_resources(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.cluster_resources(c.now, c.text("type")))


@table.get(f"{BASE}/nextid")
async def cluster_nextid(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.cluster_nextid(c.now, c.integer("vmid")))


@table.get(f"{BASE}/ha/resources")
async def ha_resources(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.ha_resources(c.now, c.text("type")))


@table.get(f"{BASE}/ha/resources/{{sid}}")
async def ha_resource(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.ha_resource(request.match_info["sid"], c.now))


@table.post(f"{BASE}/ha/resources")
async def ha_resource_create(request: web.Request) -> web.Response:
    c = call(request)
    c.pve.ha_resource_create(c.text("sid") or "", c.now, c.text("state") or "started")
    return data(None)


@table.put(f"{BASE}/ha/resources/{{sid}}")
async def ha_resource_update(request: web.Request) -> web.Response:
    c = call(request)
    c.pve.ha_resource_update(request.match_info["sid"], c.now, c.text("state"))
    return data(None)


@table.delete(f"{BASE}/ha/resources/{{sid}}")
async def ha_resource_delete(request: web.Request) -> web.Response:
    c = call(request)
    c.pve.ha_resource_delete(request.match_info["sid"], c.now)
    return data(None)


@table.get(f"{BASE}/ha/status/current")
async def ha_status_current(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.ha_status_current(c.now))
