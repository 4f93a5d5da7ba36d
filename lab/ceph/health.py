"""Ceph health checks from cluster state, with Ceph's check names and summary wording.

PG checks come from the PG map (lab/ceph/pgmap.py) and list their PGs as `ceph health
detail` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lab.ceph.pgmap import details, pg_map

if TYPE_CHECKING:
    from lab.ceph.models import CephCluster

WARN, ERR = "HEALTH_WARN", "HEALTH_ERR"
# the order `ceph health` lists OSD map flags in (OSDMap::get_flag_string)
FLAG_ORDER = ["pauserd", "pausewr", "noup", "nodown", "noout", "noin", "nobackfill", "norebalance",
              "norecover", "noscrub", "nodeep-scrub", "notieragent"]


@dataclass(frozen=True)
class HealthCheck:
    name: str
    severity: str
    message: str
    count: int
    detail: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"severity": self.severity, "summary": {"message": self.message, "count": self.count},
                "detail": [{"message": d} for d in self.detail], "muted": False}


def compute_health(ceph: CephCluster, now: float) -> list[HealthCheck]:
    checks = [_osdmap_flags(ceph), _mon_down(ceph), *_osd_down(ceph), *_pgs(ceph, now)]
    return [c for c in checks if c is not None]


def overall(checks: list[HealthCheck]) -> str:
    severities = {c.severity for c in checks}
    return ERR if ERR in severities else (WARN if severities else "HEALTH_OK")


def osdmap_flags(flags: set[str]) -> list[str]:
    """The OSD map's flags as Ceph names them: PVE's `pause` sets both pauserd and pausewr."""
    real = ({"pauserd", "pausewr"} if "pause" in flags else set()) | (flags - {"pause"})
    return [f for f in FLAG_ORDER if f in real]


def _osdmap_flags(ceph: CephCluster) -> HealthCheck | None:
    names = osdmap_flags(ceph.flags)
    if not names:
        return None
    return HealthCheck("OSDMAP_FLAGS", WARN, f"{','.join(names)} flag(s) set", len(names))


def _mon_down(ceph: CephCluster) -> HealthCheck | None:
    down = [m for m in ceph.mons.values() if not m.up]
    if not down:
        return None
    quorum = ceph.quorum
    detail = [f"mon.{m.name} (rank {m.rank}) addr [v2:{host_addr(ceph, m.host)}:3300/0,"
              f"v1:{host_addr(ceph, m.host)}:6789/0] is down (out of quorum)" for m in down]
    names = ",".join(m.name for m in quorum)
    return HealthCheck("MON_DOWN", WARN if quorum else ERR,
                       f"{len(down)}/{len(ceph.mons)} mons down, quorum {names}", len(down), detail)


def host_addr(ceph: CephCluster, host: str) -> str:
    hosts = sorted({o.host for o in ceph.osds.values()} | {m.host for m in ceph.mons.values()})
    return f"10.0.10.{11 + hosts.index(host)}"


def _osd_down(ceph: CephCluster) -> list[HealthCheck]:
    # Ceph counts OSDs that are down but still in; once out they no longer raise OSD_DOWN
    down_in = [o for o in ceph.osds.values() if o.in_ and not o.up]
    if not down_in:
        return []
    checks = [HealthCheck("OSD_DOWN", WARN, f"{len(down_in)} osds down", len(down_in),
                          [f"{o.name} (root=default,host={o.host}) is down" for o in down_in])]
    hosts = sorted({o.host for o in down_in})
    dead = [h for h in hosts if all(not o.up for o in ceph.osds.values() if o.host == h)]
    if dead:
        n_osds = sum(1 for o in down_in if o.host in dead)
        plural = "s" if len(dead) > 1 else ""
        detail = [f"host {h} (root=default) ({sum(1 for o in down_in if o.host == h)} osds) is down"
                  for h in dead]
        checks.append(HealthCheck("OSD_HOST_DOWN", WARN, f"{len(dead)} host{plural} ({n_osds} osds) down",
                                  len(dead), detail))
    return checks


def _count(n: int, what: str) -> str:
    return f"{n} {'pgs' if n > 1 else 'pg'} {what}"


def _pgs(ceph: CephCluster, now: float) -> list[HealthCheck]:
    if not ceph.osds:
        return []
    pgs = pg_map(ceph, now)
    checks = []
    inactive = [pg for pg in pgs if not pg.flag("active")]
    if inactive:
        checks.append(HealthCheck("PG_AVAILABILITY", WARN,
                                  f"Reduced data availability: {_count(len(inactive), 'inactive')}",
                                  len(inactive), details(inactive)))
    degraded = [pg for pg in pgs if pg.flag("degraded")]
    if degraded:
        per_pg = ceph.num_objects / ceph.num_pgs
        copies = ceph.num_objects * ceph.pool_size
        missing = max(1, round(sum(ceph.pool_size - len(pg.acting) for pg in degraded) * per_pg))
        undersized = sum(pg.flag("undersized") for pg in degraded)
        message = (f"Degraded data redundancy: {missing}/{copies} objects degraded "
                   f"({missing * 100 / copies:.3f}%), {_count(len(degraded), 'degraded')}")
        if undersized:
            message += f", {_count(undersized, 'undersized')}"
        checks.append(HealthCheck("PG_DEGRADED", WARN, message, len(degraded), details(degraded)))
    return checks
