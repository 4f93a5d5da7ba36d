"""Placement groups: where CRUSH puts each PG, and the state Ceph reports for it.

Two pools, as PVE sets them up: `.mgr` (pool 1, one PG) and the VM pool (pool 2, 128 PGs),
both size 3, min_size 2. Each PG's up set is chosen among the OSDs that are in by a straw2
draw (a deterministic hash per PG and OSD, highest wins), so marking an OSD out remaps only
the PGs that had it. A PG whose up OSDs number fewer than `size` is undersized and degraded,
fewer than `min_size` also inactive (peered); after an OSD goes out, the PGs it held backfill
onto their new OSD for the recovery time.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.ceph.models import CephCluster

POOLS = ((1, 1), (2, 128))  # (pool id, pg_num): .mgr, then the VM pool
MAX_DETAIL = 50  # mon_health_max_detail: Ceph stops composing PG lines past this


@dataclass(frozen=True)
class Pg:
    pool: int
    ps: int
    state: str
    acting: tuple[int, ...]

    @property
    def pgid(self) -> str:
        return f"{self.pool}.{self.ps:x}"

    def flag(self, name: str) -> bool:
        return name in self.state.split("+")

    def detail(self) -> str:
        """A line of `ceph health detail`: `pg 2.1f is active+undersized+degraded, acting [0,1]`."""
        return f"pg {self.pgid} is {self.state}, acting [{','.join(map(str, self.acting))}]"


@cache
def _draw(pool: int, ps: int, osd: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{pool}.{ps}.{osd}".encode(), digest_size=4).digest())


def crush(pool: int, ps: int, osds: list[int], size: int) -> list[int]:
    """straw2 in one line: the `size` OSDs with the highest draw for this PG."""
    return sorted(osds, key=lambda o: _draw(pool, ps, o), reverse=True)[:size]


def pgs_per_osd(ceph: CephCluster) -> Counter[int]:
    """How many PGs CRUSH maps to each OSD that is in (the OSD tree's `pgs`)."""
    in_osds = [o for o in sorted(ceph.osds) if ceph.osds[o].in_]
    return Counter(o for pool, pg_num in POOLS for ps in range(pg_num)
                   for o in crush(pool, ps, in_osds, ceph.pool_size))


def pg_map(ceph: CephCluster, now: float) -> list[Pg]:
    all_osds = sorted(ceph.osds)
    in_osds = [o for o in all_osds if ceph.osds[o].in_]
    remapped: list[tuple[int, list[int]]] = []  # (index, where the PG was with every OSD in)
    pgs: list[Pg] = []
    for pool, pg_num in POOLS:
        for ps in range(pg_num):
            up = crush(pool, ps, in_osds, ceph.pool_size)
            acting = tuple(o for o in up if ceph.osds[o].up)
            home = crush(pool, ps, all_osds, ceph.pool_size)
            if set(up) != set(home):
                remapped.append((len(pgs), home))
            pgs.append(Pg(pool, ps, _state(len(acting), ceph.pool_size, ceph.pool_min_size), acting))
    # backfill still under way: that share of the PGs, among those an out OSD used to hold;
    # until it is done they are served by the copies they still have
    for i, home in remapped[:round(ceph.recovery_left(now) * ceph.num_pgs)]:
        pg = pgs[i]
        if pg.state == "active+clean":
            survivors = tuple(o for o in home if ceph.osds[o].up and ceph.osds[o].in_)
            pgs[i] = Pg(pg.pool, pg.ps, "active+undersized+degraded+remapped+backfilling", survivors)
    return pgs


def _state(acting: int, size: int, min_size: int) -> str:
    if acting >= size:
        return "active+clean"
    if acting >= min_size:
        return "active+undersized+degraded"
    return "undersized+degraded+peered"


def details(pgs: list[Pg]) -> list[str]:
    """The PG lines of a health check, in PG order and as many as Ceph composes."""
    return [pg.detail() for pg in pgs[:MAX_DETAIL + 1]]
