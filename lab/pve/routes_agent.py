"""`/nodes/{node}/qemu/{vmid}/agent/...` routes: the QEMU guest agent's commands."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from lab.pve.handlers import Call, answers
from lab.pve.models import PveCluster
from lab.pve.routes_qemu import VM

table = web.RouteTableDef()
AGENT = f"{VM}/agent"


def _command(method: Callable[[PveCluster, str, int, float], object]) -> Callable[[Call], object]:
    """A route for an agent command that takes no parameters beyond the guest."""

    def qemu_agent_command(c: Call) -> object:
        return method(c.pve, c.node, c.vmid, c.now)

    return qemu_agent_command


table.get(AGENT)(answers(_command(PveCluster.qemu_agent_index)))
for _method, _path, _command_method in (
    ("POST", "ping", PveCluster.qemu_agent_ping),
    ("GET", "network-get-interfaces", PveCluster.qemu_agent_network_get_interfaces),
    ("GET", "get-osinfo", PveCluster.qemu_agent_get_osinfo),
    ("GET", "info", PveCluster.qemu_agent_info),
    ("GET", "get-host-name", PveCluster.qemu_agent_get_host_name),
    ("GET", "get-time", PveCluster.qemu_agent_get_time),
    ("GET", "get-timezone", PveCluster.qemu_agent_get_timezone),
    ("GET", "get-users", PveCluster.qemu_agent_get_users),
    ("GET", "get-vcpus", PveCluster.qemu_agent_get_vcpus),
    ("GET", "get-fsinfo", PveCluster.qemu_agent_get_fsinfo),
    ("GET", "get-memory-block-info", PveCluster.qemu_agent_get_memory_block_info),
    ("GET", "get-memory-blocks", PveCluster.qemu_agent_get_memory_blocks),
    ("POST", "fsfreeze-status", PveCluster.qemu_agent_fsfreeze_status),
):
    table.route(_method, f"{AGENT}/{_path}")(answers(_command(_command_method)))


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
