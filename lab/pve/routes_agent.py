"""`/nodes/{node}/qemu/{vmid}/agent/...` routes: the QEMU guest agent's commands."""

from __future__ import annotations

from aiohttp import web

from lab.pve.handlers import Call, answers
from lab.pve.routes_qemu import VM

table = web.RouteTableDef()
AGENT = f"{VM}/agent"


@table.get(AGENT)
@answers
def qemu_agent_index(c: Call) -> object:
    return c.pve.qemu_agent_index(c.node, c.vmid, c.now)


@table.post(f"{AGENT}/ping")
@answers
def qemu_agent_ping(c: Call) -> object:
    return c.pve.qemu_agent_ping(c.node, c.vmid, c.now)


@table.post(f"{AGENT}/exec")
@answers
def qemu_agent_exec(c: Call) -> object:
    # the schema made `command` a list: a form value "echo hi" is one argument, not split (PVE 8+)
    return c.pve.qemu_agent_exec(c.node, c.vmid, [str(a) for a in c.params["command"]], c.now,
                                 c.text("input-data"))


@table.get(f"{AGENT}/exec-status")
@answers
def qemu_agent_exec_status(c: Call) -> object:
    return c.pve.qemu_agent_exec_status(c.node, c.vmid, c.integer("pid") or 0, c.now)


@table.post(f"{AGENT}/file-write")
@answers
def qemu_agent_file_write(c: Call) -> object:
    return c.pve.qemu_agent_file_write(c.node, c.vmid, c.text("file") or "", c.text("content") or "", c.now,
                                       encode=c.flag("encode") is not False)


@table.get(f"{AGENT}/file-read")
@answers
def qemu_agent_file_read(c: Call) -> object:
    return c.pve.qemu_agent_file_read(c.node, c.vmid, c.text("file") or "", c.now, count=c.integer("count"),
                                      offset=c.integer("offset") or 0, decode=c.flag("decode") is not False)


@table.get(f"{AGENT}/network-get-interfaces")
@answers
def qemu_agent_network_get_interfaces(c: Call) -> object:
    return c.pve.qemu_agent_network_get_interfaces(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-osinfo")
@answers
def qemu_agent_get_osinfo(c: Call) -> object:
    return c.pve.qemu_agent_get_osinfo(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/info")
@answers
def qemu_agent_info(c: Call) -> object:
    return c.pve.qemu_agent_info(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-host-name")
@answers
def qemu_agent_get_host_name(c: Call) -> object:
    return c.pve.qemu_agent_get_host_name(c.node, c.vmid, c.now)



@table.get(f"{AGENT}/get-time")
@answers
def qemu_agent_get_time(c: Call) -> object:
    return c.pve.qemu_agent_get_time(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-timezone")
@answers
def qemu_agent_get_timezone(c: Call) -> object:
    return c.pve.qemu_agent_get_timezone(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-users")
@answers
def qemu_agent_get_users(c: Call) -> object:
    return c.pve.qemu_agent_get_users(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-vcpus")
@answers
def qemu_agent_get_vcpus(c: Call) -> object:
    return c.pve.qemu_agent_get_vcpus(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-fsinfo")
@answers
def qemu_agent_get_fsinfo(c: Call) -> object:
    return c.pve.qemu_agent_get_fsinfo(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-memory-block-info")
@answers
def qemu_agent_get_memory_block_info(c: Call) -> object:
    return c.pve.qemu_agent_get_memory_block_info(c.node, c.vmid, c.now)


@table.get(f"{AGENT}/get-memory-blocks")
@answers
def qemu_agent_get_memory_blocks(c: Call) -> object:
    return c.pve.qemu_agent_get_memory_blocks(c.node, c.vmid, c.now)


@table.post(f"{AGENT}/fsfreeze-status")
@answers
def qemu_agent_fsfreeze_status(c: Call) -> object:
    return c.pve.qemu_agent_fsfreeze_status(c.node, c.vmid, c.now)
