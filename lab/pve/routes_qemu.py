"""`/nodes/{node}/qemu/...` routes: one guest's status, power, config, clone, resize,
migrate and guest agent."""

from __future__ import annotations

from aiohttp import web

from lab.pve.handlers import call, data

table = web.RouteTableDef()
QEMU = "/api2/json/nodes/{node}/qemu"
VM = QEMU + "/{vmid}"


@table.get(QEMU)
async def qemu_list(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_list(c.node, c.now, bool(c.flag("full"))))


@table.delete(VM)
async def qemu_destroy(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_destroy(c.node, c.vmid, c.now, bool(c.flag("purge")), c.user))


@table.get(f"{VM}/status/current")
async def qemu_status_current(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_status_current(c.node, c.vmid, c.now))


async def qemu_status_command(request: web.Request) -> web.Response:
    c = call(request)
    command = request.path.rsplit("/", 1)[1]
    return data(c.pve.qemu_status_command(c.node, c.vmid, command, c.now, c.user))


for _command in ("start", "stop", "shutdown", "reboot"):  # one schema path each
    table.post(f"{VM}/status/{_command}")(qemu_status_command)


@table.get(f"{VM}/config")
async def qemu_config(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_config(c.node, c.vmid, c.now, bool(c.flag("current"))))


@table.post(f"{VM}/config")
async def qemu_config_async(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_config_update(c.node, c.vmid, c.body(), c.now, is_async=True, user=c.user))


@table.put(f"{VM}/config")
async def qemu_config_sync(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_config_update(c.node, c.vmid, c.body(), c.now, is_async=False, user=c.user))


@table.get(f"{VM}/pending")
async def qemu_pending(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_pending(c.node, c.vmid, c.now))


@table.post(f"{VM}/clone")
async def qemu_clone(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_clone(c.node, c.vmid, c.integer("newid") or 0, c.now, name=c.text("name"),
                                 full=c.flag("full"), target=c.text("target"), user=c.user))


@table.put(f"{VM}/resize")
async def qemu_resize(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_resize(c.node, c.vmid, c.text("disk") or "", c.text("size") or "", c.now,
                                  user=c.user))


@table.get(f"{VM}/migrate")
async def qemu_migrate_precondition(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_migrate_precondition(c.node, c.vmid, c.now, c.text("target")))


@table.post(f"{VM}/migrate")
async def qemu_migrate(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_migrate(c.node, c.vmid, c.text("target") or "", c.now,
                                   online=bool(c.flag("online")), user=c.user))


@table.post(f"{VM}/agent/ping")
async def qemu_agent_ping(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_agent_ping(c.node, c.vmid, c.now))


@table.post(f"{VM}/agent/exec")
async def qemu_agent_exec(request: web.Request) -> web.Response:
    c = call(request)
    command = c.params.get("command") or []
    argv = [str(a) for a in command] if isinstance(command, list) else str(command).split()
    return data(c.pve.qemu_agent_exec(c.node, c.vmid, argv, c.now))


@table.get(f"{VM}/agent/exec-status")
async def qemu_agent_exec_status(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_agent_exec_status(c.node, c.vmid, c.integer("pid") or 0, c.now))


@table.get(f"{VM}/agent/network-get-interfaces")
async def qemu_agent_network_get_interfaces(request: web.Request) -> web.Response:
    c = call(request)
    return data(c.pve.qemu_agent_network_get_interfaces(c.node, c.vmid, c.now))
