"""The lab's own loopback HTTP endpoint: /metrics for Prometheus, /lab/status and /lab/fault, and
the mirror of the addons' chart repositories (/charts/SLUG/index.yaml, lab/k8s/chart_index.py).

`POST /lab/fault` takes `{"fault": "power-off", "target": "blade3"}`; bad input gets 400 with
`{"error": "...", "faults": {name: target}}` naming the valid choices.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import generate_latest

from lab.ceph.health import overall
from lab.faults import FAULTS, FaultError, apply_fault
from lab.k8s.chart_index import index
from lab.metrics import make_registry

if TYPE_CHECKING:
    from lab.world import Lab

LAB_KEY = web.AppKey("lab", object)
REGISTRY_KEY = web.AppKey("registry", object)
# the classic text format, as ceph-mgr and prometheus-pve-exporter serve it
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FAULT_CHOICES = {name: target for name, (target, _) in FAULTS.items()}


def _lab(request: web.Request) -> Lab:
    return request.app[LAB_KEY]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY_KEY])  # type: ignore[arg-type]
    return web.Response(body=body, headers={"Content-Type": METRICS_TYPE})


def _gib(size: int) -> float:
    # through Decimal: a config may hold a memory size no float can (PVE stores what it is given)
    return round(float(Decimal(size) / 1024**3), 1)


def lab_status(lab: Lab, now: float) -> dict[str, Any]:
    """Blades, VMs and Ceph as `drewburr lab status` shows them."""
    ceph = lab.ceph
    checks = ceph.health_checks(now)
    osd_by_host = {o.host: o for o in ceph.osds.values()}
    blades = []
    for b in sorted(lab.pve.blades.values(), key=lambda b: b.name):
        osd = osd_by_host.get(b.name)
        blades.append({
            "name": b.name, "powered": b.powered, "online": lab.pve.reachable(b.name, now),
            "cores": b.cores,
            "memory_gib": _gib(b.memory),
            "vms": sorted(v.vmid for v in lab.pve.vms.values() if v.node == b.name),
            "osd": osd and {"name": osd.name, "up": osd.up, "in": osd.in_},
            "mon": b.name in ceph.mons,
        })
    vms = [{"vmid": v.vmid, "name": v.name, "node": v.node, "status": v.status, "ha": v.ha,
            "template": v.template, "lock": v.lock, "cores": v.cores,
            "memory_gib": _gib(v.memory)}
           for v in sorted(lab.pve.vms.values(), key=lambda v: v.vmid)]
    faults = lab.api_faults
    return {
        "now": now, "quorate": lab.pve.quorate(now), "blades": blades, "vms": vms,
        "ceph": {"health": overall(checks),
                 "checks": {c.name: c.message for c in checks},
                 "flags": sorted(ceph.flags),
                 "quorum": [m.name for m in ceph.quorum],
                 "osds": [{"name": o.name, "host": o.host, "up": o.up, "in": o.in_}
                          for o in sorted(ceph.osds.values(), key=lambda o: o.id)]},
        "api_faults": {"delay": faults.delay, "fail_fraction": faults.fail_fraction,
                       "fail_status": faults.fail_status},
    }


async def status(request: web.Request) -> web.Response:
    lab = _lab(request)
    return web.json_response(lab_status(lab, lab.advance()))


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message, "faults": FAULT_CHOICES}, status=400)


async def fault(request: web.Request) -> web.Response:
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("fault"), str):
        return _bad('the body must be JSON like {"fault": "power-off", "target": "blade3"}')
    target = body.get("target")
    if isinstance(target, int | float) and not isinstance(target, bool):
        target = str(target)  # {"target": 105} for a VMID
    if target is not None and not isinstance(target, str):
        return _bad(f"the target must be a string, got {json.dumps(target)}")
    lab = _lab(request)
    try:
        message = apply_fault(lab, body["fault"], target, lab.advance())
    except FaultError as exc:
        return _bad(str(exc))
    return web.json_response({"ok": True, "message": message})


async def chart_index(request: web.Request) -> web.Response:
    text = index(request.match_info["slug"])
    if text is None:  # as a static site answers a path it does not have
        return web.Response(status=404, text="404 page not found\n")
    return web.Response(text=text, content_type="application/x-yaml")


def make_app(lab: Lab) -> web.Application:
    app = web.Application()
    app[LAB_KEY] = lab
    app[REGISTRY_KEY] = make_registry(lab)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/lab/status", status)
    app.router.add_post("/lab/fault", fault)
    app.router.add_get("/charts/{slug}/index.yaml", chart_index)
    return app
