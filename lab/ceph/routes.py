"""PVE's Ceph routes: parse, call the Ceph model, answer in PVE's `{"data": ...}` envelope."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lab.ceph.models import FLAGS
from lab.pve.app import LAB_KEY, NOW_KEY
from lab.pve.auth import USER_KEY
from lab.pve.schema import PARAMS_KEY

table = web.RouteTableDef()


def _lab(request: web.Request) -> Any:
    return request.app[LAB_KEY]


def _data(data: object) -> web.Response:
    return web.json_response({"data": data})


def _true(value: object) -> bool:
    """A schema-checked PVE boolean: 1/0 from a form, true/false from JSON."""
    return value is True or str(value) == "1"


@table.get("/api2/json/cluster/ceph/status")
async def cluster_ceph_status(request: web.Request) -> web.Response:
    return _data(_lab(request).ceph.cluster_ceph_status(request[NOW_KEY]))


@table.get("/api2/json/cluster/ceph/flags")
async def cluster_ceph_flags(request: web.Request) -> web.Response:
    return _data(_lab(request).ceph.cluster_ceph_flags())


@table.get("/api2/json/cluster/ceph/flags/{flag}")
async def get_flag(request: web.Request) -> web.Response:
    return _data(int(_lab(request).ceph.get_flag(request.match_info["flag"])))


@table.put("/api2/json/cluster/ceph/flags/{flag}")
async def update_flag(request: web.Request) -> web.Response:
    params = request[PARAMS_KEY]
    _lab(request).ceph.update_flag(params["flag"], _true(params["value"]), request[NOW_KEY])
    return _data(None)


@table.put("/api2/json/cluster/ceph/flags")
async def set_flags(request: web.Request) -> web.Response:
    lab, now = _lab(request), request[NOW_KEY]
    changes = {flag: _true(value) for flag, value in request[PARAMS_KEY].items() if flag in FLAGS}

    def work(task: Any, end: float) -> None:
        for line in lab.ceph.set_flags(changes, end):
            task.write(line)

    task = lab.pve.run_task(lab.pve.local_node(now), "cephsetflags", "", now, 1, work,
                            user=request[USER_KEY])
    return _data(task.upid)


@table.get("/api2/json/nodes/{node}/ceph/status")
async def node_ceph_status(request: web.Request) -> web.Response:
    lab = _lab(request)
    lab.pve.online_blade(request.match_info["node"], request[NOW_KEY])
    return _data(lab.ceph.cluster_ceph_status(request[NOW_KEY]))


@table.get("/api2/json/nodes/{node}/ceph/osd")
async def node_ceph_osd(request: web.Request) -> web.Response:
    lab = _lab(request)
    lab.pve.online_blade(request.match_info["node"], request[NOW_KEY])
    return _data(lab.ceph.node_ceph_osd(request[NOW_KEY]))
