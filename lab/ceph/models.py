"""Ceph state: one OSD per blade, monitors, OSD flags; health computed from state.

The monitor's rules, simplified: an OSD whose host stops is marked down after the heartbeat
grace, a down OSD is marked out after `mon_osd_down_out_interval` unless `noout` is set, and
an OSD that comes back is marked in again unless `noin` is set. Health checks use Ceph's
names and summary wording (OSDMap::check_health, PGMap, MonmapMonitor).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab.ceph import status
from lab.ceph.health import HealthCheck, compute_health, overall
from lab.pve.domain import PveError

if TYPE_CHECKING:
    from lab.scenario import Scenario

GB = 1000**3
HEARTBEAT_GRACE = 20.0  # osd_heartbeat_grace: peers report a silent OSD down after this
RECOVERY_SECONDS = 300.0  # lab seconds for backfill to restore redundancy after an OSD goes out
FLAGS = {
    "nobackfill": "Backfilling of PGs is suspended.",
    "nodeep-scrub": "Deep Scrubbing is disabled.",
    "nodown": "OSD failure reports are being ignored, such that the monitors will not mark OSDs down.",
    "noin": "OSDs that were previously marked out will not be marked back in when they start.",
    "noout": "OSDs will not automatically be marked out after the configured interval.",
    "norebalance": "Rebalancing of PGs is suspended.",
    "norecover": "Recovery of PGs is suspended.",
    "noscrub": "Scrubbing is disabled.",
    "notieragent": "Cache tiering activity is suspended.",
    "noup": "OSDs are not allowed to start.",
    "pause": "Pauses read and writes.",
}


class CephTimeout(PveError):
    """Without monitor quorum every Ceph command times out; PVE answers 500 "got timeout"."""

    def __init__(self) -> None:
        super().__init__("got timeout")


@dataclass
class Osd:
    id: int
    host: str
    size: int  # bytes
    up: bool = True
    in_: bool = True
    stopped: bool = False  # the daemon is stopped by a fault (host may be up)
    host_down_since: float | None = None
    down_since: float | None = None
    in_since: float = 0.0
    up_since: float = 0.0

    @property
    def name(self) -> str:
        return f"osd.{self.id}"


@dataclass
class Mon:
    name: str  # PVE names monitors after their host
    host: str
    rank: int
    up: bool = True


class CephCluster:
    pool_size = 3
    pool_min_size = 2
    num_pgs = 129  # the VM pool's 128 and .mgr's 1
    num_objects = 61_440

    def __init__(self, osds: list[Osd], mons: list[Mon], down_out_interval: float, now: float,
                 used_share: float = 0.18) -> None:
        self.osds = {o.id: o for o in osds}
        # the data stored (all copies) is fixed; marking OSDs out spreads it over the ones left
        self.stored = int(sum(o.size for o in osds) * used_share)
        self.mons = {m.name: m for m in mons}
        self.flags: set[str] = set()
        self.down_out_interval = down_out_interval
        self.fsid = str(uuid.UUID(int=len(osds) * 7919 + len(mons)))
        self.recovering_until = now
        self.recovery_share = 0.0
        self.epoch = 100
        self.seen_checks: set[tuple[str, str]] = set()  # for metrics: once seen, reported as 0

    @classmethod
    def from_scenario(cls, scenario: Scenario, now: float) -> CephCluster:
        hosts = [b for b in scenario.blades if b.osd_gb > 0]
        osds = [Osd(i, b.name, b.osd_gb * GB, up=b.online, in_=True, in_since=now, up_since=now)
                for i, b in enumerate(hosts)]
        mons = [Mon(b.name, b.name, rank) for rank, b in enumerate(b for b in scenario.blades if b.mon)]
        return cls(osds, mons, scenario.timings.mon_osd_down_out_interval, now, scenario.ceph_used_share)

    # -- time ---------------------------------------------------------------------------------

    def advance(self, now: float, hosts_up: set[str]) -> None:
        """Move Ceph state up to `now`, given which blades are up."""
        for mon in self.mons.values():
            mon.up = mon.host in hosts_up
        for osd in self.osds.values():
            self._advance_osd(osd, now, osd.host in hosts_up)

    def _advance_osd(self, osd: Osd, now: float, host_up: bool) -> None:
        if not host_up:
            osd.host_down_since = osd.host_down_since if osd.host_down_since is not None else now
        else:
            osd.host_down_since = None
        running = host_up and not osd.stopped
        if osd.up and not running and "nodown" not in self.flags:
            # peers report a dead host's OSD once the heartbeat grace has passed
            when = now if osd.stopped else (osd.host_down_since or now) + HEARTBEAT_GRACE
            if when <= now:
                self._mark_down(osd, when)
        elif not osd.up and running and "noup" not in self.flags:
            self._mark_up(osd, now)
        if (not osd.up and osd.in_ and "noout" not in self.flags and osd.down_since is not None
                and now - osd.down_since >= self.down_out_interval):
            self.mark_out(osd, now)

    def mark_out(self, osd: Osd, now: float) -> None:
        in_before = sum(1 for o in self.osds.values() if o.in_)
        osd.in_ = False
        self.epoch += 1
        # the PGs that had a copy on it backfill onto the others
        self.recovery_share = min(1.0, self.recovery_left(now) + self.pool_size / max(in_before, 1))
        self.recovering_until = now + RECOVERY_SECONDS

    def _mark_down(self, osd: Osd, now: float) -> None:
        osd.up, osd.down_since = False, now
        self.epoch += 1

    def _mark_up(self, osd: Osd, now: float) -> None:
        osd.up, osd.down_since, osd.up_since = True, None, now
        if not osd.in_ and "noin" not in self.flags:
            osd.in_, osd.in_since = True, now  # data moves back: misplaced, not degraded
        self.epoch += 1

    # -- faults -------------------------------------------------------------------------------

    def osd_down(self, osd_id: int, now: float) -> None:
        """Stop an OSD's daemon: the monitors mark it down at once (`systemctl stop ceph-osd@N`)."""
        osd = self.osds[osd_id]
        osd.stopped = True
        if osd.up and "nodown" not in self.flags:
            self._mark_down(osd, now)

    def osd_up(self, osd_id: int, now: float) -> None:
        """Start a stopped OSD daemon again; it comes up when its host is up."""
        osd = self.osds[osd_id]
        osd.stopped = False
        if not osd.up and osd.host_down_since is None and "noup" not in self.flags:
            self._mark_up(osd, now)

    # -- flags (PUT/GET /cluster/ceph/flags/{flag}) ---------------------------------------------

    def cluster_ceph_flags(self) -> list[dict[str, object]]:
        return [{"name": name, "description": text, "value": int(name in self.flags)}
                for name, text in sorted(FLAGS.items())]

    def get_flag(self, flag: str) -> bool:
        return flag in self.flags

    def update_flag(self, flag: str, value: bool, now: float) -> None:
        if value:
            self.flags.add(flag)
        else:
            self.flags.discard(flag)
        self.epoch += 1

    def set_flags(self, changes: dict[str, bool], now: float) -> list[str]:
        """PUT /cluster/ceph/flags (a `cephsetflags` task): the task log lines, one per change."""
        lines = []
        for flag in sorted(changes):
            if changes[flag] != (flag in self.flags):  # PVE skips flags already in that state
                self.update_flag(flag, changes[flag], now)
                lines.append(f"{'set' if changes[flag] else 'unset'} {flag}")
        return lines

    # -- health -------------------------------------------------------------------------------

    @property
    def quorum(self) -> list[Mon]:
        up = [m for m in self.mons.values() if m.up]
        return up if len(up) * 2 > len(self.mons) else []

    def osd_used(self, osd: Osd) -> int:
        """Bytes used on an OSD: its share by size of the data stored, among the OSDs in."""
        room = sum(o.size for o in self.osds.values() if o.in_)
        return int(self.stored * osd.size / room) if osd.in_ and room else 0

    def recovery_left(self, now: float) -> float:
        """Share of PGs still backfilling after OSDs were marked out (0 when redundancy is back)."""
        if now >= self.recovering_until:
            return 0.0
        return self.recovery_share * (self.recovering_until - now) / RECOVERY_SECONDS

    def health_checks(self, now: float) -> list[HealthCheck]:
        checks = compute_health(self, now)
        self.seen_checks.update((c.name, c.severity) for c in checks)
        return checks

    def health_status(self, now: float) -> str:
        return overall(self.health_checks(now))

    # -- API ----------------------------------------------------------------------------------

    def reachable(self) -> None:
        if not self.mons:
            raise PveError("pveceph configuration not initialized")  # a scenario without Ceph
        if not self.quorum:
            raise CephTimeout()

    def cluster_ceph_status(self, now: float) -> dict[str, Any]:
        """GET /cluster/ceph/status (and /nodes/{node}/ceph/status): `ceph status` as JSON."""
        self.reachable()
        return status.cluster_ceph_status(self, now)

    def node_ceph_osd(self, now: float) -> dict[str, Any]:
        self.reachable()
        return status.node_ceph_osd(self)
