"""`/nodes/...` routes that are not about one guest: nodes, node status and power,
migrateall, and tasks."""

from __future__ import annotations

from aiohttp import web

from lab.pve.handlers import Call, answers
from lab.pve.validate import split_list

table = web.RouteTableDef()
NODE = "/api2/json/nodes/{node}"


@table.get("/api2/json/nodes")
@answers
def nodes(c: Call) -> object:
    return c.pve.nodes(c.now)


@table.get(f"{NODE}/status")
@answers
def node_status(c: Call) -> object:
    return c.pve.node_status(c.node, c.now)


@table.post(f"{NODE}/status")
@answers
def node_status_command(c: Call) -> object:
    return c.pve.node_status_command(c.node, c.text("command") or "", c.now)


@table.post(f"{NODE}/migrateall")
@answers
def node_migrateall(c: Call) -> object:
    vmids = [int(v) for v in split_list(c.text("vms") or "")] or None  # checked by the schema
    workers = c.integer("max-workers") or c.integer("maxworkers")
    return c.pve.node_migrateall(c.node, c.text("target") or "", c.now, workers, vmids, c.user)


@table.get(f"{NODE}/tasks")
@answers
def node_tasks(c: Call) -> object:
    limit = c.integer("limit")
    return c.pve.node_tasks(c.node, c.now, start=c.integer("start") or 0,
                            limit=50 if limit is None else limit, vmid=c.integer("vmid"),
                            typefilter=c.text("typefilter"), errors=bool(c.flag("errors")),
                            source=c.text("source") or "archive")


@table.get(f"{NODE}/tasks/{{upid}}/status")
@answers
def task_status(c: Call) -> object:
    return c.pve.task_status(c.node, c.text("upid") or "", c.now)


@table.delete(f"{NODE}/tasks/{{upid}}")
@answers
def node_task_stop(c: Call) -> object:
    return c.pve.node_task_stop(c.node, c.text("upid") or "", c.now, c.user)


@table.get(f"{NODE}/storage")
@answers
def node_storage_index(c: Call) -> object:
    return c.pve.node_storage_index(c.node, c.now, content=c.text("content"), storage=c.text("storage"),
                                    target=c.text("target"), formats=bool(c.flag("format")))


@table.get(f"{NODE}/storage/{{storage}}/status")
@answers
def node_storage_status(c: Call) -> object:
    return c.pve.node_storage_status(c.node, c.text("storage") or "", c.now)


@table.get(f"{NODE}/tasks/{{upid}}/log")
@answers
def task_log(c: Call) -> object:
    limit = c.integer("limit")
    return c.pve.task_log(c.node, c.text("upid") or "", c.now, c.integer("start") or 0,
                          50 if limit is None else limit)
