"""Ceph's monitor rules on a manual clock: down, out after the interval, noout, host and mon loss."""

from __future__ import annotations

import pytest

from lab.ceph.models import HEARTBEAT_GRACE, RECOVERY_SECONDS, CephCluster, CephTimeout
from lab.clock import ManualClock
from lab.pve.domain import PveError
from lab.scenario import load_scenario

ALL = {"blade1", "blade2", "blade3", "blade4"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ceph(clock: ManualClock) -> CephCluster:
    return CephCluster.from_scenario(load_scenario(None), clock.now())


def checks(ceph: CephCluster, now: float) -> dict[str, str]:
    return {c.name: c.message for c in ceph.health_checks(now)}


def test_the_seed_homelab_has_one_osd_per_blade_and_three_monitors(
        ceph: CephCluster, clock: ManualClock) -> None:
    assert {o.name: o.host for o in ceph.osds.values()} == {
        "osd.0": "blade1", "osd.1": "blade2", "osd.2": "blade3", "osd.3": "blade4"}
    assert [m.name for m in ceph.quorum] == ["blade1", "blade2", "blade3"]
    assert ceph.health_status(clock.now()) == "HEALTH_OK"


def test_a_stopped_osd_is_down_at_once_and_degrades_pgs(ceph: CephCluster, clock: ManualClock) -> None:
    ceph.osd_down(1, clock.now())
    ceph.advance(clock.advance(1), ALL)
    found = checks(ceph, clock.now())
    assert found["OSD_DOWN"] == "1 osds down"
    assert found["PG_DEGRADED"].startswith("Degraded data redundancy: ")
    assert "pgs undersized" in found["PG_DEGRADED"]
    # Ceph judges hosts by CRUSH subtree: a host whose only OSD is down is a down host
    assert found["OSD_HOST_DOWN"] == "1 host (1 osds) down"
    assert ceph.health_status(clock.now()) == "HEALTH_WARN"


def test_a_down_osd_is_marked_out_after_the_interval_and_recovery_restores_health(
        ceph: CephCluster, clock: ManualClock) -> None:
    ceph.osd_down(2, clock.now())
    ceph.advance(clock.advance(ceph.down_out_interval - 1), ALL)
    assert ceph.osds[2].in_
    ceph.advance(clock.advance(2), ALL)
    assert not ceph.osds[2].in_
    found = checks(ceph, clock.now())
    assert "OSD_DOWN" not in found  # Ceph counts down OSDs that are still in
    assert "PG_DEGRADED" in found  # backfill onto the other three is under way
    ceph.advance(clock.advance(RECOVERY_SECONDS + 1), ALL)
    assert ceph.health_status(clock.now()) == "HEALTH_OK"


def test_noout_keeps_a_down_osd_in_and_raises_osdmap_flags(ceph: CephCluster, clock: ManualClock) -> None:
    ceph.update_flag("noout", True, clock.now())
    assert checks(ceph, clock.now()) == {"OSDMAP_FLAGS": "noout flag(s) set"}
    ceph.osd_down(0, clock.now())
    ceph.advance(clock.advance(ceph.down_out_interval * 3), ALL)
    assert ceph.osds[0].in_ and not ceph.osds[0].up
    ceph.update_flag("noout", False, clock.now())
    ceph.advance(clock.advance(1), ALL)
    assert not ceph.osds[0].in_  # the interval had long passed


def test_a_dead_host_takes_its_osd_and_monitor_after_the_heartbeat_grace(
        ceph: CephCluster, clock: ManualClock) -> None:
    up = ALL - {"blade3"}
    ceph.advance(clock.advance(1), up)
    assert ceph.osds[2].up  # peers have not reported it yet
    found = checks(ceph, clock.now())
    assert found["MON_DOWN"] == "1/3 mons down, quorum blade1,blade2"
    ceph.advance(clock.advance(HEARTBEAT_GRACE), up)
    found = checks(ceph, clock.now())
    assert found["OSD_DOWN"] == "1 osds down"
    assert found["OSD_HOST_DOWN"] == "1 host (1 osds) down"


def test_an_osd_back_up_is_marked_in_again(ceph: CephCluster, clock: ManualClock) -> None:
    ceph.advance(clock.advance(1), ALL - {"blade4"})
    ceph.advance(clock.advance(ceph.down_out_interval + HEARTBEAT_GRACE), ALL - {"blade4"})
    assert not ceph.osds[3].in_
    ceph.advance(clock.advance(5), ALL)
    assert ceph.osds[3].up and ceph.osds[3].in_


def test_without_monitor_quorum_ceph_status_times_out(ceph: CephCluster, clock: ManualClock) -> None:
    ceph.advance(clock.advance(1), {"blade1", "blade4"})
    assert ceph.quorum == []
    with pytest.raises(CephTimeout, match="got timeout"):
        ceph.cluster_ceph_status(clock.now())


def test_two_osds_out_of_four_leave_pgs_inactive(ceph: CephCluster, clock: ManualClock) -> None:
    ceph.osd_down(0, clock.now())
    ceph.osd_down(1, clock.now())
    found = checks(ceph, clock.now())
    assert found["OSD_DOWN"] == "2 osds down"
    assert found["PG_AVAILABILITY"].startswith("Reduced data availability: ")


def test_flags_list_every_pve_flag_with_its_value(ceph: CephCluster, clock: ManualClock) -> None:
    ceph.update_flag("noout", True, clock.now())
    flags = {f["name"]: f["value"] for f in ceph.cluster_ceph_flags()}
    assert flags["noout"] == 1 and flags["pause"] == 0 and len(flags) == 11


def test_a_homelab_without_ceph_is_healthy_but_not_initialized(clock: ManualClock) -> None:
    scenario = load_scenario(None)
    for blade in scenario.blades:
        blade.osd_gb, blade.mon = 0, False
    ceph = CephCluster.from_scenario(scenario, clock.now())
    assert ceph.health_status(clock.now()) == "HEALTH_OK"
    with pytest.raises(PveError, match="pveceph configuration not initialized"):
        ceph.cluster_ceph_status(clock.now())


def percent_used(ceph: CephCluster, now: float) -> dict[int, float]:
    hosts = ceph.node_ceph_osd(now)["root"]["children"][0]["children"]
    return {o["id"]: o["percent_used"] for h in hosts for o in h["children"]}


def test_an_osd_marked_out_spreads_its_data_over_the_others(ceph: CephCluster, clock: ManualClock) -> None:
    used = percent_used(ceph, clock.now())
    assert used == pytest.approx({0: 18.0, 1: 18.0, 2: 18.0, 3: 18.0})
    ceph.osd_down(2, clock.now())
    ceph.advance(clock.advance(ceph.down_out_interval + 1), ALL)
    used = percent_used(ceph, clock.now())
    assert used == pytest.approx({0: 24.0, 1: 24.0, 2: 0.0, 3: 24.0})  # the same data on three OSDs
    status = ceph.cluster_ceph_status(clock.now())["pgmap"]
    assert status["bytes_used"] == ceph.stored and status["bytes_total"] == 3 * 500 * 1000**3
