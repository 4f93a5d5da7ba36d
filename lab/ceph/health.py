"""Ceph health checks from cluster state, with Ceph's check names and summary wording.

PG counts are estimated as CRUSH would spread them: each PG sits on `pool_size` of the OSDs
that are in, chosen evenly, so the share of PGs touching k bad OSDs is hypergeometric.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb
from typing import TYPE_CHECKING

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


def _share_with_at_least(bad: int, total: int, size: int, at_least: int) -> float:
    """Share of `size`-subsets of `total` OSDs holding at least `at_least` of the `bad` ones."""
    size = min(size, total)
    if total <= 0 or size <= 0:
        return 0.0
    hits = sum(comb(bad, k) * comb(total - bad, size - k) for k in range(at_least, min(bad, size) + 1))
    return hits / comb(total, size)


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


def _pgs(ceph: CephCluster, now: float) -> list[HealthCheck]:
    if not ceph.osds:
        return []
    in_osds = [o for o in ceph.osds.values() if o.in_]
    bad = sum(1 for o in in_osds if not o.up)
    total = len(in_osds)
    undersized_share = _share_with_at_least(bad, total, ceph.pool_size, 1)
    if total < ceph.pool_size:  # fewer OSDs in than copies: every PG stays undersized
        undersized_share = 1.0
    recovering = ceph.recovery_left(now)
    degraded_share = max(undersized_share, recovering)
    checks = []
    inactive = ceph.pool_size - ceph.pool_min_size + 1
    inactive_share = _share_with_at_least(bad, total, ceph.pool_size, inactive)
    if total - bad < ceph.pool_min_size:
        inactive_share = 1.0
    if inactive_share > 0:
        pgs = max(1, round(ceph.num_pgs * inactive_share))
        checks.append(HealthCheck("PG_AVAILABILITY", WARN,
                                  f"Reduced data availability: {pgs} pgs inactive", pgs))
    if degraded_share > 0:
        pgs = max(1, round(ceph.num_pgs * degraded_share))
        copies = ceph.num_objects * ceph.pool_size
        undersized_copies = copies * bad / total if total else copies
        missing = max(1, round(undersized_copies + ceph.num_objects * recovering))
        message = (f"Degraded data redundancy: {missing}/{copies} objects degraded "
                   f"({missing * 100 / copies:.3f}%), {pgs} pgs degraded")
        if undersized_share:
            message += f", {max(1, round(ceph.num_pgs * undersized_share))} pgs undersized"
        checks.append(HealthCheck("PG_DEGRADED", WARN, message, pgs))
    return checks
