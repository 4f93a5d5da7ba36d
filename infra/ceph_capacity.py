"""Can Ceph re-replicate a blade's data onto the other OSDs once the blade's OSDs are marked out?

Pure. Marking an OSD out moves its placement groups onto the OSDs still in: the data stored stays
the same, the raw space to hold it shrinks. Past `nearfull` (Ceph's mon_osd_nearfull_ratio, 0.85
by default) Ceph warns, at 0.95 it stops writes; with fewer hosts than the pool's size (3) the
PGs cannot get all their copies back at all (CRUSH puts one copy per host). An even spread by
size is assumed: real CRUSH is a little uneven, so this is the best case.
"""

from __future__ import annotations

from pydantic import BaseModel

from infra.topology import Ceph

NEARFULL = 0.85  # mon_osd_nearfull_ratio
POOL_SIZE = 3  # PVE's default pool size (replicas, one per host)


class Capacity(BaseModel):
    blade: str
    used_now: float  # share of the raw space of the OSDs in, now
    used_after: float | None  # once the blade's OSDs are out; None: no OSD would be left
    hosts_after: int
    nearfull: float = NEARFULL
    pool_size: int = POOL_SIZE

    @property
    def past_nearfull(self) -> bool:
        return self.used_after is None or self.used_after > self.nearfull

    @property
    def too_few_hosts(self) -> bool:
        return self.hosts_after < self.pool_size

    @property
    def risks(self) -> list[str]:
        """What goes wrong once the blade's OSDs are out (empty: Ceph heals)."""
        out = []
        if self.used_after is None:
            out.append(f"no OSD would be left to hold {self.blade}'s data")
        elif self.past_nearfull:
            out.append(f"re-replicating {self.blade}'s data fills the remaining OSDs to "
                       f"{self.used_after:.0%} (now {self.used_now:.0%}), past nearfull "
                       f"{self.nearfull:.0%}")
        if self.too_few_hosts:
            out.append(f"only {self.hosts_after} host(s) with OSDs would be left for {self.pool_size} "
                       "copies: placement groups stay degraded until the blade is back")
        return out

    @property
    def summary(self) -> str:
        if self.risks:
            return "; ".join(self.risks)
        return (f"can re-replicate {self.blade}'s data: the remaining OSDs reach "
                f"{self.used_after:.0%} (now {self.used_now:.0%}, nearfull at {self.nearfull:.0%})")


def after_out(ceph: Ceph, blade: str, nearfull: float = NEARFULL, pool_size: int = POOL_SIZE,
              ) -> Capacity | None:
    """The usage once `blade`'s OSDs are out; None when the OSD tree reports no sizes (cannot tell)
    or the blade has no OSD (nothing to move)."""
    sized = [o for o in ceph.osds if o.in_ and o.total_bytes > 0]
    if not sized or not any(o.host == blade for o in sized):
        return None
    used = sum(o.used_bytes for o in sized)
    staying = [o for o in sized if o.host != blade and o.up]
    room = sum(o.total_bytes for o in staying)
    return Capacity(blade=blade, used_now=used / sum(o.total_bytes for o in sized),
                    used_after=used / room if room else None, hosts_after=len({o.host for o in staying}),
                    nearfull=nearfull, pool_size=pool_size)
