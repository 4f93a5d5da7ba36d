"""PVE's Ceph routes: parse, call the Ceph model, answer in PVE's `{"data": ...}` envelope."""

from __future__ import annotations

from aiohttp import web

from lab.ceph.models import FLAGS
from lab.pve.handlers import Call, answers
from lab.pve.tasks import Task

table = web.RouteTableDef()


@table.get("/api2/json/cluster/ceph/status")
@answers
def cluster_ceph_status(c: Call) -> object:
    return c.ceph.cluster_ceph_status(c.now)


@table.get("/api2/json/cluster/ceph/flags")
@answers
def cluster_ceph_flags(c: Call) -> object:
    return c.ceph.cluster_ceph_flags()


@table.get("/api2/json/cluster/ceph/flags/{flag}")
@answers
def get_flag(c: Call) -> object:
    return int(c.ceph.get_flag(c.text("flag") or ""))


@table.put("/api2/json/cluster/ceph/flags/{flag}")
@answers
def update_flag(c: Call) -> object:
    c.ceph.update_flag(c.text("flag") or "", bool(c.flag("value")), c.now)
    return None


@table.put("/api2/json/cluster/ceph/flags")
@answers
def set_flags(c: Call) -> object:
    changes = {flag: bool(c.flag(flag)) for flag in c.params if flag in FLAGS}

    def work(task: Task, end: float) -> None:
        for line in c.ceph.set_flags(changes, end):
            task.write(line)

    return c.pve.run_task(c.pve.local_node(c.now), "cephsetflags", "", c.now, 1, work, user=c.user).upid


@table.get("/api2/json/nodes/{node}/ceph/status")
@answers
def node_ceph_status(c: Call) -> object:
    c.pve.online_blade(c.node, c.now)
    return c.ceph.cluster_ceph_status(c.now)


@table.get("/api2/json/nodes/{node}/ceph/osd")
@answers
def node_ceph_osd(c: Call) -> object:
    c.pve.online_blade(c.node, c.now)
    return c.ceph.node_ceph_osd(c.now)
