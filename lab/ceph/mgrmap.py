"""`ceph mgr dump`, which PVE adds to /cluster/ceph/status (since Octopus `ceph status` no
longer carries the full manager map, so pve-manager's ceph_cluster_status asks for it).

PVE creates a manager beside each monitor; the first one in quorum is active, the others
stand by. Every module has Ceph's four logging options besides its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab.ceph.health import host_addr

if TYPE_CHECKING:
    from lab.ceph.models import CephCluster

MGR_FEATURES = 4540138322906710015
ENABLED = ["iostat", "nfs", "prometheus", "restful"]
ALWAYS_ON = ["balancer", "crash", "devicehealth", "orchestrator", "pg_autoscaler", "progress",
             "rbd_support", "status", "telemetry", "volumes"]
# module -> its own options (name, type, default)
MODULES: dict[str, list[tuple[str, str, str]]] = {
    "balancer": [("active", "bool", "True"), ("mode", "str", "upmap"), ("sleep_interval", "secs", "60")],
    "crash": [("retain_interval", "secs", "31536000"), ("warn_recent_interval", "secs", "1209600")],
    "devicehealth": [("enable_monitoring", "bool", "True"), ("scrape_frequency", "secs", "86400")],
    "iostat": [],
    "nfs": [],
    "orchestrator": [("orchestrator", "str", "")],
    "pg_autoscaler": [("sleep_interval", "secs", "60")],
    "progress": [("enabled", "bool", "True"), ("max_completed_events", "int", "50")],
    "prometheus": [("server_addr", "str", "::"), ("server_port", "int", "9283"),
                   ("scrape_interval", "float", "15.0"), ("cache", "bool", "True")],
    "rbd_support": [("max_concurrent_snap_create", "int", "10")],
    "restful": [("server_addr", "str", ""), ("server_port", "int", "")],
    "status": [],
    "telemetry": [("enabled", "bool", "False"), ("interval", "int", "24")],
    "volumes": [("max_concurrent_clones", "int", "4")],
}
CLIENTS = ("devicehealth", "libcephsqlite", "rbd_support", "volumes")  # the active mgr's RADOS clients
LOG_OPTIONS = [("log_level", "str", ""), ("log_to_cluster", "bool", "False"),
               ("log_to_cluster_level", "str", "info"), ("log_to_file", "bool", "False")]
LEVELS = ["", "critical", "debug", "error", "info", "warning"]


def _option(name: str, kind: str, default: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "level": "advanced", "flags": 1 if name.startswith("log") else 0,
            "default_value": default, "min": "", "max": "",
            "enum_allowed": LEVELS if name in ("log_level", "log_to_cluster_level") else [],
            "desc": "", "long_desc": "", "tags": [], "see_also": []}


def available_modules() -> list[dict[str, Any]]:
    return [{"name": name, "can_run": True, "error_string": "",
             "module_options": {o[0]: _option(*o) for o in [*LOG_OPTIONS, *own]}}
            for name, own in sorted(MODULES.items())]


def _addrvec(ip: str, port: int, nonce: int) -> dict[str, Any]:
    return {"addrvec": [{"type": "v2", "addr": f"{ip}:{port}", "nonce": nonce},
                        {"type": "v1", "addr": f"{ip}:{port + 1}", "nonce": nonce}]}


def mgr_dump(ceph: CephCluster, changed: str) -> dict[str, Any]:
    mgrs = [m.host for m in sorted(ceph.quorum, key=lambda m: m.rank)]
    active = mgrs[0] if mgrs else ""
    ip = host_addr(ceph, active) if active else ""
    gid = 170_000_000 + ceph.epoch
    return {
        "epoch": ceph.epoch, "flags": 0, "active_gid": gid if active else 0, "active_name": active,
        "active_addrs": _addrvec(ip, 6800, 2343) if active else {"addrvec": []},
        "active_addr": f"{ip}:6801/2343" if active else ":/0",
        "active_change": changed, "active_mgr_features": MGR_FEATURES, "available": bool(active),
        "standbys": [{"gid": gid + i, "name": host, "mgr_features": MGR_FEATURES,
                      "available_modules": available_modules()} for i, host in enumerate(mgrs[1:], 1)],
        "modules": ENABLED, "available_modules": available_modules(),
        "services": {"prometheus": f"http://{ip}:9283/"} if active else {},
        "always_on_modules": {release: ALWAYS_ON for release in ("octopus", "pacific", "quincy", "reef",
                                                                   "squid")},
        "last_failure_osd_epoch": 0,
        "active_clients": [{"name": name, "addrvec": [{"type": "v2", "addr": f"{ip}:0", "nonce": 1000 + i}]}
                           for i, name in enumerate(CLIENTS)] if active else [],
    }
