"""`/nodes/...` routes that are not about one guest: nodes, node status and power,
migrateall, and tasks."""

from __future__ import annotations

import re

from aiohttp import web

from lab.pve.handlers import call, data

table = web.RouteTableDef()
NODE = "/api2/json/nodes/{node}"


@table.get("/api2/json/nodes")
async def nodes(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.nodes(c.now))


@table.get(f"{NODE}/status")
async def node_status(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.node_status(c.node, c.now))


@table.post(f"{NODE}/status")
async def node_status_command(request: web.Request) -> web.Response:
    c = call(request)
    c.pve.node_status_command(c.node, c.text("command") or "", c.now)
    return data(None)


@table.post(f"{NODE}/migrateall")
async def node_migrateall(request: web.Request) -> web.Response:
    c = call(request)
    vms = c.text("vms")
    vmids = [int(v) for v in re.split(r"[,;\s]+", vms) if v] if vms else None
    workers = c.integer("max-workers") or c.integer("maxworkers")
    return data(c.pve.node_migrateall(c.node, c.text("target") or "", c.now, workers, vmids, c.user))


@table.get(f"{NODE}/tasks")
async def node_tasks(request: web.Request) -> web.Response:
    c = call(request)
    start, limit = c.integer("start") or 0, c.integer("limit")
    return data(c.pve.node_tasks(c.node, c.now, start=start, limit=50 if limit is None else limit,
                                 vmid=c.integer("vmid"), typefilter=c.text("typefilter"),
                                 errors=bool(c.flag("errors")), source=c.text("source") or "archive"))


@table.get(f"{NODE}/tasks/{{upid}}/status")
async def task_status(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.task_status(c.node, request.match_info["upid"], c.now))


@table.get(f"{NODE}/tasks/{{upid}}/log")
async def task_log(request: web.Request) -> web.Response:
    c = call(request)
    limit = c.integer("limit")
    return data(c.pve.task_log(c.node, request.match_info["upid"], c.now, c.integer("start") or 0,
                               50 if limit is None else limit))
