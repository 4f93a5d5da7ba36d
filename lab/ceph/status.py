"""Ceph state as PVE serves it: `ceph status` (/cluster/ceph/status) and the OSD tree (/nodes/{n}/ceph/osd).

Shapes follow a real `ceph status` capture (reef) and pve-manager's PVE::API2::Ceph::OSD `index`.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lab.ceph.health import host_addr, osdmap_flags, overall
from lab.ceph.mgrmap import mgr_dump
from lab.ceph.pgmap import pg_map, pgs_per_osd

if TYPE_CHECKING:
    from lab.ceph.models import CephCluster, Osd

CEPH_VERSION = "ceph version 19.2.3 (2f3d3e8e3f0ab8c2b6d6a7b4f0c1e5d9a7b3c2e1) squid (stable)"
CEPH_VERSION_SHORT = "19.2.3"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cluster_ceph_status(ceph: CephCluster, now: float) -> dict[str, Any]:
    checks = ceph.health_checks(now)
    quorum = ceph.quorum
    osds = list(ceph.osds.values())
    raw = sum(o.size for o in osds if o.in_)
    used = min(ceph.stored, raw)
    return {
        "fsid": ceph.fsid,
        "health": {"status": overall(checks), "checks": {c.name: c.as_json() for c in checks}, "mutes": []},
        "election_epoch": 40 + ceph.epoch % 7,
        "quorum": [m.rank for m in quorum],
        "quorum_names": [m.name for m in quorum],
        "quorum_age": 86_400,
        "monmap": _monmap(ceph),
        "osdmap": {
            "epoch": ceph.epoch, "num_osds": len(osds),
            "num_up_osds": sum(o.up for o in osds),
            "osd_up_since": int(max((o.up_since for o in osds), default=now)),
            "num_in_osds": sum(o.in_ for o in osds),
            "osd_in_since": int(max((o.in_since for o in osds), default=now)),
            "num_remapped_pgs": 0,
        },
        "pgmap": {
            "pgs_by_state": _pgs_by_state(ceph, now), "num_pgs": ceph.num_pgs, "num_pools": 2,
            "num_objects": ceph.num_objects, "data_bytes": used // ceph.pool_size,
            "bytes_used": used, "bytes_avail": raw - used, "bytes_total": raw,
            "read_bytes_sec": 52_000, "write_bytes_sec": 2_600_000,
            "read_op_per_sec": 3, "write_op_per_sec": 210,
        },
        "fsmap": {"epoch": 1, "by_rank": [], "up:standby": 0},
        "mgrmap": mgr_dump(ceph, _iso(now - 86_400)),
        "servicemap": {"epoch": 3, "modified": _iso(now - 86_400), "services": {}},
        "progress_events": {},
    }


def _pgs_by_state(ceph: CephCluster, now: float) -> list[dict[str, Any]]:
    states = Counter(pg.state for pg in pg_map(ceph, now))
    return [{"state_name": name, "count": n} for name, n in states.most_common()]


def _monmap(ceph: CephCluster) -> dict[str, Any]:
    mons = []
    for m in sorted(ceph.mons.values(), key=lambda m: m.rank):
        ip = host_addr(ceph, m.host)
        mons.append({
            "rank": m.rank, "name": m.name, "addr": f"{ip}:6789/0", "public_addr": f"{ip}:6789/0",
            "public_addrs": {"addrvec": [{"type": "v2", "addr": f"{ip}:3300", "nonce": 0},
                                         {"type": "v1", "addr": f"{ip}:6789", "nonce": 0}]},
            "priority": 0, "weight": 0, "crush_location": "{}",
        })
    # `mon dump` really names two keys with a trailing ": " (MonMap::dump's typo)
    return {"epoch": 3, "fsid": ceph.fsid, "min_mon_release": 19, "min_mon_release_name": "squid",
            "election_strategy": 1, "disallowed_leaders: ": "", "stretch_mode": False,
            "tiebreaker_mon": "", "removed_ranks: ": "", "quorum": [m.rank for m in ceph.quorum],
            "modified": "2025-06-01T10:00:00.000000Z", "created": "2025-06-01T10:00:00.000000Z",
            "features": {"persistent": ["kraken", "luminous", "mimic", "osdmap-prune", "nautilus",
                                        "octopus", "pacific", "elector-pinging", "quincy", "reef",
                                        "squid"], "optional": []},
            "mons": mons}


def _osd_entry(osd: Osd, pgs: int, used: int) -> dict[str, Any]:
    total = osd.size
    return {
        "id": osd.id, "name": osd.name, "type": "osd", "host": osd.host, "leaf": 1,
        "status": "up" if osd.up else "down", "in": int(osd.in_),
        "crush_weight": round(total / 1024**4, 5), "reweight": 1 if osd.in_ else 0,
        "device_class": "nvme", "pgs": pgs, "osdtype": "bluestore", "blfsdev": "/dev/nvme0n1",
        "total_space": total, "bytes_used": used, "percent_used": used * 100 / total,
        "commit_latency_ms": 1 if osd.up else 0, "apply_latency_ms": 1 if osd.up else 0,
        "ceph_version": CEPH_VERSION, "ceph_version_short": CEPH_VERSION_SHORT,
    }


def node_ceph_osd(ceph: CephCluster) -> dict[str, Any]:
    """The CRUSH tree: root `default` -> hosts -> OSDs, in PVE's extjs-tree shape."""
    pgs = pgs_per_osd(ceph)
    hosts = []
    for i, host in enumerate(sorted({o.host for o in ceph.osds.values()})):
        osds = [_osd_entry(o, pgs[o.id], ceph.osd_used(o))
                for o in sorted(ceph.osds.values(), key=lambda o: o.id)
                if o.host == host]
        hosts.append({"id": -3 - i, "name": host, "type": "host", "leaf": 0, "children": osds,
                      "crush_weight": sum(o["crush_weight"] for o in osds), "version": CEPH_VERSION_SHORT})
    root = {"id": -1, "name": "default", "type": "root", "leaf": 0, "children": hosts}
    data: dict[str, Any] = {"root": {"leaf": 0, "children": [root]}}
    flags = ",".join(osdmap_flags(ceph.flags))
    if flags:
        data["flags"] = flags
    return data
