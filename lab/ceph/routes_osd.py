"""PVE's routes for Ceph operations: OSD in/out and metadata, cmd-safety, monitors, metadata.

`/nodes/{node}/...` ones are proxied to that node (`proxyto`), so an offline node answers 595.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from lab.ceph import operations
from lab.ceph.models import CephCluster
from lab.pve.handlers import Call, answers

table = web.RouteTableDef()
NODE = "/api2/json/nodes/{node}/ceph"


def _osd_command(command: Callable[[CephCluster, int, float], None]) -> Callable[[Call], object]:
    def osd_in_out(c: Call) -> object:
        c.pve.online_blade(c.node, c.now)
        command(c.ceph, c.integer("osdid") or 0, c.now)
        return None

    return osd_in_out


table.post(f"{NODE}/osd/{{osdid}}/in")(answers(_osd_command(operations.osd_in)))
table.post(f"{NODE}/osd/{{osdid}}/out")(answers(_osd_command(operations.osd_out)))


@table.get(f"{NODE}/osd/{{osdid}}/metadata")
@answers
def osddetails(c: Call) -> object:
    c.pve.online_blade(c.node, c.now)
    return operations.osddetails(c.ceph, c.node, c.integer("osdid") or 0)


@table.get(f"{NODE}/cmd-safety")
@answers
def cmd_safety(c: Call) -> object:
    c.pve.online_blade(c.node, c.now)
    return operations.cmd_safety(c.ceph, c.text("service") or "", c.text("id") or "",
                                 c.text("action") or "", c.now)


@table.get(f"{NODE}/mon")
@answers
def listmon(c: Call) -> object:
    c.pve.online_blade(c.node, c.now)
    return operations.listmon(c.ceph)


@table.get("/api2/json/cluster/ceph/metadata")
@answers
def metadata(c: Call) -> object:
    return operations.metadata(c.ceph, c.text("scope") or "all")
