"""Ceph operations PVE offers: `ceph osd in|out`, OSD metadata, the monitor list, cluster
metadata, and `cmd-safety` (the monitors' and manager's ok-to-stop, safe-to-destroy, ok-to-rm).

Wording is Ceph's (OSDMonitor, DaemonServer, MonmapMonitor) and pve-manager's
(PVE::API2::Ceph::OSD, ::MON, PVE::API2::Ceph `cmd_safety`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab.ceph.health import host_addr
from lab.ceph.pgmap import pg_map, pgs_per_osd
from lab.ceph.status import CEPH_VERSION, CEPH_VERSION_SHORT
from lab.pve.domain import PveError

if TYPE_CHECKING:
    from lab.ceph.models import CephCluster, Mon, Osd

RELEASE = "squid"
# what every daemon's metadata says of its host (Ceph reports these numbers as strings)
HOST = {"cpu": "AMD Ryzen 5 5600U with Radeon Graphics", "mem_total_kb": str(16 * 1024**2),
        "mem_swap_kb": "0"}
OSD_MEMORY = 2_400_000_000  # bytes: a BlueStore OSD near its default osd_memory_target of 4 GiB


class NoSuchOsd(PveError):
    def __init__(self, osd_id: int) -> None:
        super().__init__(f"no such OSD '{osd_id}'")


def _osd(ceph: CephCluster, osd_id: int) -> Osd:
    ceph.reachable()
    osd = ceph.osds.get(osd_id)
    if osd is None:
        raise NoSuchOsd(osd_id)
    return osd


def osd_out(ceph: CephCluster, osd_id: int, now: float) -> None:
    """`POST .../osd/{id}/out`: its PGs go to the other OSDs (backfill); already out is fine."""
    osd = _osd(ceph, osd_id)
    if osd.in_:
        ceph.mark_out(osd, now)


def osd_in(ceph: CephCluster, osd_id: int, now: float) -> None:
    """`POST .../osd/{id}/in`: its PGs map back to it (misplaced data moves, nothing degraded)."""
    osd = _osd(ceph, osd_id)
    if not osd.in_:
        osd.in_, osd.in_since = True, now
        ceph.epoch += 1


def _metadata(ceph: CephCluster, osd: Osd) -> dict[str, Any]:
    """`ceph osd metadata ID`, the fields PVE reads and a few more."""
    ip = host_addr(ceph, osd.host)
    return {
        "id": osd.id, "hostname": osd.host, "arch": "x86_64", "ceph_release": RELEASE,
        "ceph_version": CEPH_VERSION, "ceph_version_short": CEPH_VERSION_SHORT,
        "osd_data": f"/var/lib/ceph/osd/ceph-{osd.id}", "osd_objectstore": "bluestore",
        "front_addr": f"[v2:{ip}:6802/{1000 + osd.id},v1:{ip}:6803/{1000 + osd.id}]",
        "back_addr": f"[v2:{ip}:6804/{1000 + osd.id},v1:{ip}:6805/{1000 + osd.id}]",
        "hb_front_addr": f"[v2:{ip}:6808/{1000 + osd.id},v1:{ip}:6809/{1000 + osd.id}]",
        "hb_back_addr": f"[v2:{ip}:6806/{1000 + osd.id},v1:{ip}:6807/{1000 + osd.id}]",
        "bluestore_bdev_dev_node": "/dev/dm-0", "bluestore_bdev_devices": "nvme0n1",
        "bluestore_bdev_size": str(osd.size), "bluestore_bdev_support_discard": "1",
        "bluestore_bdev_type": "ssd", "bluefs_dedicated_db": "0", "bluefs_dedicated_wal": "0",
        "default_device_class": "nvme", "devices": "nvme0n1", "rotational": "0",
        "device_ids": f"nvme0n1=Samsung_SSD_980_PRO_500GB_S5GYNX0T{osd.id:06d}",
        "device_paths": "nvme0n1=/dev/disk/by-path/pci-0000:01:00.0-nvme-1",
        **HOST,
    }


def osddetails(ceph: CephCluster, node: str, osd_id: int) -> dict[str, Any]:
    """`GET /nodes/{node}/ceph/osd/{id}/metadata`."""
    ceph.reachable()
    osd = ceph.osds.get(osd_id)
    if osd is None:  # `ceph osd metadata` refuses an id the OSD map lacks
        raise PveError(f"mon_command failed - error getting metadata for osd.{osd_id}: "
                       "(2) No such file or directory")
    if osd.host != node:
        raise PveError(f"OSD '{osd_id}' does not exists on host '{node}'")
    meta = _metadata(ceph, osd)
    data: dict[str, Any] = {
        "osd": {key: meta[key] for key in ("hostname", "id", "osd_data", "osd_objectstore", "front_addr",
                                           "back_addr", "hb_front_addr", "hb_back_addr")},
        "devices": [{"dev_node": "/dev/dm-0", "physical_device": "nvme0n1", "size": osd.size,
                     "support_discard": True, "type": "ssd", "device": "block"}],
    }
    data["osd"].update(version=f"{CEPH_VERSION_SHORT} ({RELEASE})", encrypted=0,
                       mem_usage=OSD_MEMORY if osd.up else 0)
    if osd.up:  # systemd's MainPID, absent for a stopped unit
        data["osd"]["pid"] = 3000 + osd.id
    return data


def _ok_to_stop_osd(ceph: CephCluster, osd_id: int, now: float) -> tuple[bool, str]:
    if osd_id not in ceph.osds:
        return False, f"osd.{osd_id} does not exist"
    offline = degraded = 0
    for pg in pg_map(ceph, now):
        left = [o for o in pg.acting if o != osd_id]
        if len(left) < ceph.pool_min_size:
            offline += 1
        elif len(left) < len(pg.acting):
            degraded += 1
    if offline:
        return False, f"unsafe to stop osd(s) at this time ({offline} PGs are or would become offline)"
    return True, (f"OSD(s) {osd_id} are ok to stop without reducing availability or risking data, "
                  "provided there are no other concurrent failures or interventions.\n"
                  f"{degraded} PGs are likely to be degraded (but remain available) as a result.")


def _safe_to_destroy_osd(ceph: CephCluster, osd_id: int, now: float) -> tuple[bool, str]:
    osd = ceph.osds.get(osd_id)
    if osd is None:  # already gone: nothing to lose
        return True, f"OSD(s) {osd_id} are safe to destroy without reducing data durability."
    mapped = pgs_per_osd(ceph)[osd_id]
    if mapped:
        return False, f"OSD(s) {osd_id} have {mapped} pgs currently mapped to them."
    if any(pg.state != "active+clean" for pg in pg_map(ceph, now)):
        return False, (f"OSD(s) {osd_id} last reported they still store some PG data, and not all PGs "
                       "are active+clean; we cannot be sure they aren't still needed.")
    return True, f"OSD(s) {osd_id} are safe to destroy without reducing data durability."


def _names(mons: list[Mon]) -> str:
    """A std::set of names as Ceph prints it: comma-separated, no brackets."""
    return ",".join(sorted(m.name for m in mons))


def _mon_safety(ceph: CephCluster, mon_id: str, action: str) -> tuple[bool, str]:
    needed = len(ceph.mons) // 2 + 1  # MonMap::min_quorum_size
    quorum = ceph.quorum
    if action == "stop":
        if mon_id not in ceph.mons:
            return True, f"invalid mon(s) specified: [{mon_id}]"
        wouldbe = [m for m in quorum if m.name != mon_id]
        if len(wouldbe) < needed:
            return False, (f"not enough monitors would be available ({_names(wouldbe)}) "
                           f"after stopping mons [{mon_id}]")
        return True, f"quorum should be preserved ({_names(wouldbe)}) after stopping [{mon_id}]"
    if mon_id not in ceph.mons:
        return True, f"mon.{mon_id} does not exist"
    smaller = (len(ceph.mons) - 1) // 2 + 1
    if any(m.name == mon_id for m in quorum) and len(quorum) - 1 < smaller:
        return False, f"removing mon.{mon_id} would break quorum"
    return True, f"safe to remove mon.{mon_id}"


def cmd_safety(ceph: CephCluster, service: str, daemon: str, action: str, now: float) -> dict[str, Any]:
    """`GET /nodes/{node}/ceph/cmd-safety`: `{safe, status}` from Ceph's own check."""
    ceph.reachable()
    if service == "mds" and action == "destroy":
        raise PveError(f"Service does not support this action: {service}: {action}")
    if service == "mds":  # no CephFS here: Ceph says stopping an MDS it does not know is harmless
        return {"safe": True}
    if service == "mon":
        safe, status = _mon_safety(ceph, daemon, action)
    else:
        osd_id = int(daemon) if daemon.isascii() and daemon.isdigit() else -1
        if osd_id < 0:
            return {"safe": False, "status": f"invalid osd id '{daemon}'"}
        check = _ok_to_stop_osd if action == "stop" else _safe_to_destroy_osd
        safe, status = check(ceph, osd_id, now)
    return {"safe": safe, "status": status}


def listmon(ceph: CephCluster) -> list[dict[str, Any]]:
    """`GET /nodes/{node}/ceph/mon`: every monitor; `quorum` and `state` from `quorum_status`."""
    if not ceph.mons:
        raise PveError("pveceph configuration not initialized")
    quorum = {m.name for m in ceph.quorum}
    out = []
    for mon in sorted(ceph.mons.values(), key=lambda m: m.name):
        entry: dict[str, Any] = {"name": mon.name, "host": mon.host, "service": 1, "direxists": 1,
                                 "state": "stopped", "ceph_version": CEPH_VERSION,
                                 "ceph_version_short": CEPH_VERSION_SHORT}
        if quorum:  # without quorum no RADOS connection: PVE only knows what ceph.conf says
            ip = host_addr(ceph, mon.host)
            entry.update(rank=mon.rank, addr=f"{ip}:6789/0")
            if mon.name in quorum:
                entry.update(quorum=1, state="running")
        else:
            entry = {k: v for k, v in entry.items() if not k.startswith("ceph_")} | {"state": "unknown"}
        out.append(entry)
    return out


def metadata(ceph: CephCluster, scope: str = "all") -> dict[str, Any]:
    """`GET /cluster/ceph/metadata`: versions per node, then each daemon's metadata."""
    hosts = sorted({o.host for o in ceph.osds.values()} | {m.host for m in ceph.mons.values()})
    parts = CEPH_VERSION_SHORT.split(".")  # regex captures in PVE's broadcast: strings
    out: dict[str, Any] = {"node": {h: {"version": {"str": CEPH_VERSION_SHORT, "parts": parts},
                                        "buildcommit": CEPH_VERSION.split("(")[1].split(")")[0]}
                                    for h in hosts}}
    if scope == "versions":
        return out
    ceph.reachable()
    for kind in ("mon", "mgr"):
        out[kind] = {f"{m.name}@{m.host}": _daemon(ceph, m.name, m.host) for m in ceph.mons.values()}
    out["mds"] = {}
    out["osd"] = [_metadata(ceph, o) for o in sorted(ceph.osds.values(), key=lambda o: o.id)]
    return out


def _daemon(ceph: CephCluster, name: str, host: str) -> dict[str, Any]:
    ip = host_addr(ceph, host)
    return {"name": name, "hostname": host, "addrs": f"[v2:{ip}:3300/0,v1:{ip}:6789/0]",
            "ceph_release": RELEASE, "ceph_version": CEPH_VERSION, "ceph_version_short": CEPH_VERSION_SHORT,
            "service": 1, "direxists": 1, **HOST}
