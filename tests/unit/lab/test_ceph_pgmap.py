"""The PG map: CRUSH-like placement that moves only what it must, and PG states as Ceph names them."""

from __future__ import annotations

from collections import Counter

from lab.ceph.models import CephCluster
from lab.ceph.pgmap import POOLS, crush, pg_map
from lab.clock import ManualClock
from lab.scenario import load_scenario

PGS = [(pool, ps) for pool, pg_num in POOLS for ps in range(pg_num)]


def test_every_pg_has_three_osds_spread_evenly() -> None:
    load = Counter(o for pool, ps in PGS for o in crush(pool, ps, [0, 1, 2, 3], 3))
    assert sum(load.values()) == 3 * len(PGS)
    assert max(load.values()) - min(load.values()) < len(PGS) // 10


def test_an_osd_out_remaps_only_the_pgs_it_held() -> None:
    for pool, ps in PGS:
        before, after = crush(pool, ps, [0, 1, 2, 3], 3), crush(pool, ps, [0, 1, 3], 3)
        assert set(after) == set(before) if 2 not in before else set(after) == {0, 1, 3}


def test_pg_states_follow_the_osds_that_are_up() -> None:
    clock = ManualClock()
    ceph = CephCluster.from_scenario(load_scenario(None), clock.now())
    assert {pg.state for pg in pg_map(ceph, clock.now())} == {"active+clean"}
    ceph.osd_down(1, clock.now())
    ceph.osd_down(2, clock.now())
    states = Counter(pg.state for pg in pg_map(ceph, clock.now()))
    assert set(states) == {"active+undersized+degraded", "undersized+degraded+peered"}
    peered = [pg for pg in pg_map(ceph, clock.now()) if pg.state == "undersized+degraded+peered"]
    assert all(len(pg.acting) == 1 and pg.acting[0] in (0, 3) for pg in peered)
    first = peered[0]
    assert first.detail() == f"pg {first.pgid} is undersized+degraded+peered, acting [{first.acting[0]}]"
