"""`/cluster/...` routes: status, resources, nextid and ha-manager."""

from __future__ import annotations

from aiohttp import web

from lab.pve.handlers import Call, answers
from lab.pve.permissions import visible_resources

table = web.RouteTableDef()
BASE = "/api2/json/cluster"


@table.get(f"{BASE}/status")
@answers
def cluster_status(c: Call) -> object:
    return c.pve.cluster_status(c.now)


@table.get(f"{BASE}/resources")
@answers
def cluster_resources(c: Call) -> object:
    return visible_resources(c.pve.cluster_resources(c.now, c.text("type")), c.pve.privileges.get(c.user))


@table.get(f"{BASE}/nextid")
@answers
def cluster_nextid(c: Call) -> object:
    return c.pve.cluster_nextid(c.now, c.integer("vmid"))


@table.get(f"{BASE}/tasks")
@answers
def cluster_tasks(c: Call) -> object:
    return c.pve.cluster_tasks(c.now, c.user)


@table.get(f"{BASE}/ha/resources")
@answers
def ha_resources(c: Call) -> object:
    return c.pve.ha_resources(c.now, c.text("type"))


@table.post(f"{BASE}/ha/resources")
@answers
def ha_resource_create(c: Call) -> object:
    return c.pve.ha_resource_create(c.text("sid") or "", c.now, c.text("state") or "started")


@table.get(f"{BASE}/ha/resources/{{sid}}")
@answers
def ha_resource(c: Call) -> object:
    return c.pve.ha_resource(c.text("sid") or "", c.now)


@table.put(f"{BASE}/ha/resources/{{sid}}")
@answers
def ha_resource_update(c: Call) -> object:
    return c.pve.ha_resource_update(c.text("sid") or "", c.now, c.text("state"), c.flag("failback"))


@table.delete(f"{BASE}/ha/resources/{{sid}}")
@answers
def ha_resource_delete(c: Call) -> object:
    return c.pve.ha_resource_delete(c.text("sid") or "", c.now)


@table.post(f"{BASE}/ha/resources/{{sid}}/migrate")
@answers
def ha_resource_migrate(c: Call) -> object:
    return c.pve.ha_resource_migrate(c.text("sid") or "", c.text("node") or "", c.now)


@table.get(f"{BASE}/ha/status/current")
@answers
def ha_status_current(c: Call) -> object:
    return c.pve.ha_status_current(c.now)
