"""Our Ceph gateway (through PVE) against the lab: health, flags, the OSD-to-blade map."""

from __future__ import annotations

from infra.gateways.ceph import CephGateway
from infra.gateways.pve import PveGateway
from lab.faults import apply_fault
from tests.conftest import RunningLab


def ceph(lab: RunningLab) -> CephGateway:
    return CephGateway(PveGateway(lab.pve_url, "root@pam!drewburr", lab.server.token_secret,
                                  ca_file=lab.ca_file))


async def test_healthy_cluster_maps_one_osd_per_blade_and_three_monitors(running_lab):
    health = await ceph(running_lab).health("blade1")
    assert health.health == "HEALTH_OK" and health.checks == {} and health.flags == []
    assert {o.host: (o.id, o.up) for o in health.osds} == {
        "blade1": (0, True), "blade2": (1, True), "blade3": (2, True), "blade4": (3, True)}
    assert sorted(m.host for m in health.mons if m.in_quorum) == ["blade1", "blade2", "blade3"]


async def test_noout_raises_only_osdmap_flags_which_is_not_a_problem(running_lab):
    gw = ceph(running_lab)
    await gw.set_flag("noout", True)
    health = await gw.health("blade1")
    assert "noout" in health.flags and "OSDMAP_FLAGS" in health.checks
    assert health.problems() == {}
    await gw.set_flag("noout", False)
    assert await gw.flags_set() == set()


async def test_a_down_osd_shows_on_its_blade_and_in_the_checks(running_lab):
    lab = running_lab.lab
    running_lab.call(lambda: apply_fault(lab, "osd-down", "blade4", lab.advance()))
    health = await ceph(running_lab).health("blade1")
    assert [o.host for o in health.osds if not o.up] == ["blade4"]
    assert "OSD_DOWN" in health.problems()
