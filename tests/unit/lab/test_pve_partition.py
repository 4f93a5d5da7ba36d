"""A blade cut off by a network partition (`lose_quorum(now, blade)`), on a manual clock:
the majority keeps quorum, the isolated blade self-fences when its LRM is active, HA recovers,
and K3s loses the nodes whose VMs are cut off."""

from __future__ import annotations

import pytest

from lab.clock import ManualClock
from lab.pve.domain import NodeOffline, NotQuorate
from lab.pve.models import PveCluster
from tests.unit.lab.k8s_world import World
from tests.unit.lab.test_pve_model import clock, pve, run

__all__ = ["clock", "pve"]  # fixtures shared with the PVE model tests


def node_online(pve: PveCluster, name: str, now: float) -> int:
    return next(e["online"] for e in pve.cluster_status(now) if e.get("name") == name)


def test_the_rest_keeps_quorum_and_sees_the_isolated_blade_offline(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.lose_quorum(clock.now(), "blade3")
    now = clock.now()
    assert pve.quorate(now)  # three of four votes remain
    assert node_online(pve, "blade3", now) == 0
    assert not pve.reachable("blade3", now) and pve.reachable("blade4", now)
    with pytest.raises(NodeOffline, match="Connection timed out") as exc:
        pve.vm_on("blade3", 105, now)
    assert exc.value.status == 595
    pve.require_quorum(now)  # writes on the majority still work


def test_an_isolated_blade_with_ha_vms_self_fences_then_ha_recovers_them(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.lose_quorum(clock.now(), "blade3")
    assert pve.vms[103].ha_state == "fence"
    run(pve, clock, pve.timings.ha_watchdog_timeout - 1)
    assert (pve.vms[103].status, pve.vms[105].status) == ("running", "running")  # watchdog not fired yet
    run(pve, clock, 2)
    assert (pve.vms[103].status, pve.vms[105].status) == ("stopped", "stopped")  # the blade reset
    run(pve, clock, pve.timings.ha_fence_delay - pve.timings.ha_watchdog_timeout - 5)
    assert (pve.vms[103].node, pve.vms[103].ha_state) == ("blade3", "fence")  # the fence delay holds
    run(pve, clock, 15)
    assert pve.vms[103].node != "blade3"
    assert (pve.vms[103].status, pve.vms[103].ha_state) == ("running", "started")
    assert (pve.vms[105].node, pve.vms[105].status) == ("blade3", "stopped")  # not HA: it stays



def test_a_short_fence_delay_still_waits_for_the_watchdog(pve: PveCluster, clock: ManualClock) -> None:
    pve.timings.ha_fence_delay = 10  # shorter than the watchdog: recovering now would run vm:103 twice
    pve.lose_quorum(clock.now(), "blade3")
    run(pve, clock, pve.timings.ha_watchdog_timeout - 1)
    assert (pve.vms[103].node, pve.vms[103].status) == ("blade3", "running")
    run(pve, clock, 10)
    assert pve.vms[103].node != "blade3"

def test_an_isolated_blade_without_ha_vms_keeps_its_guests_running(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.vms[103].ha = False  # blade3 now runs only non-HA guests: its LRM is idle
    pve.lose_quorum(clock.now(), "blade3")
    run(pve, clock, pve.timings.ha_fence_delay + pve.timings.ha_watchdog_timeout)
    assert (pve.vms[103].status, pve.vms[105].status) == ("running", "running")
    assert pve.blades["blade3"].booted_at < clock.now() - 3600  # never reset


def test_isolating_two_of_four_blades_loses_quorum_and_ha_stands_still(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.lose_quorum(clock.now(), "blade3")
    pve.lose_quorum(clock.now(), "blade4")
    assert not pve.quorate(clock.now())
    with pytest.raises(NotQuorate, match="cluster not ready - no quorum"):
        pve.require_quorum(clock.now())
    run(pve, clock, pve.timings.ha_fence_delay + 10)
    assert (pve.vms[103].node, pve.vms[103].ha_state) == ("blade3", "fence")
    pve.regain_quorum(clock.now(), "blade4")  # it self-fenced too (vm:104): quorate once it has booted
    run(pve, clock, pve.timings.blade_boot + 10)
    assert pve.quorate(clock.now())
    assert pve.vms[104].status == "running"
    assert pve.vms[103].node != "blade3" and pve.vms[103].ha_state == "started"


def test_a_self_fenced_blade_rejoins_and_starts_its_guests_after_booting(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.lose_quorum(clock.now(), "blade3")
    run(pve, clock, pve.timings.ha_watchdog_timeout + 1)
    pve.regain_quorum(clock.now(), "blade3")
    assert not pve.reachable("blade3", clock.now())  # still booting after its reset
    run(pve, clock, pve.timings.blade_boot)
    assert pve.reachable("blade3", clock.now())
    assert node_online(pve, "blade3", clock.now()) == 1
    run(pve, clock, 5)
    assert pve.vms[105].status == "running"  # onboot: started by pve-guests
    assert pve.vms[103].node != "blade3"  # fenced and recovered while blade3 was booting


def test_a_blade_that_booted_while_cut_off_waits_for_quorum_to_start_guests(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.lose_quorum(clock.now(), "blade3")
    run(pve, clock, pve.timings.ha_watchdog_timeout + pve.timings.blade_boot + 10)
    assert pve.blades["blade3"].online(clock.now()) and pve.vms[105].status == "stopped"
    pve.regain_quorum(clock.now(), "blade3")
    run(pve, clock, 5)
    assert pve.vms[105].status == "running"


def test_a_partition_healed_before_the_watchdog_fires_changes_nothing(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.lose_quorum(clock.now(), "blade3")
    run(pve, clock, pve.timings.ha_watchdog_timeout / 2)
    pve.regain_quorum(clock.now(), "blade3")
    run(pve, clock, pve.timings.ha_fence_delay + 10)
    vm = pve.vms[103]
    assert (vm.node, vm.status, vm.ha_state) == ("blade3", "running", "started")
    assert pve.ha_node_state("blade3", clock.now()) == "online"


def test_regaining_quorum_without_a_blade_also_rejoins_isolated_blades(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.lose_quorum(clock.now())
    pve.lose_quorum(clock.now(), "blade2")
    pve.regain_quorum(clock.now())
    assert pve.quorate(clock.now()) and pve.reachable("blade2", clock.now())


def test_k3s_nodes_on_an_isolated_blade_go_unknown_while_their_vms_run_and_recover_on_rejoin() -> None:
    w = World()  # HA off: blade3 does not self-fence, its VMs keep running cut off
    w.pve.lose_quorum(w.now, "blade3")
    w.run(w.scenario.timings.node_monitor_grace_period + 15)
    assert w.pve.vms[105].status == "running"
    assert (w.ready("kube05")["status"], w.ready("kube03")["status"]) == ("Unknown", "Unknown")
    assert w.ready("kube04")["status"] == "True"
    w.pve.regain_quorum(w.now, "blade3")
    w.run(15)
    assert w.ready("kube05")["status"] == "True"


def test_a_lost_blades_lrm_status_is_what_it_last_wrote_until_it_is_back(
        pve: PveCluster, clock: ManualClock) -> None:
    def lrm(name: str) -> str:
        return str(pve.ha_manager_status(clock.now())["lrm_status"][name]["state"])
    pve.power_off("blade3", clock.now())
    run(pve, clock, pve.timings.ha_fence_delay + 10)
    status = pve.ha_manager_status(clock.now())["manager_status"]
    assert status["node_status"]["blade3"] == "unknown" and pve.vms[103].node != "blade3"  # fenced
    assert lrm("blade3") == "active"  # its file says it ran HA services: its watchdog was armed
    pve.vms[104].ha = False  # blade4 runs no HA service now: its LRM is idle
    pve.lose_quorum(clock.now(), "blade4")
    assert lrm("blade4") == "wait_for_agent_lock"
    pve.power_on("blade3", clock.now())
    run(pve, clock, pve.timings.blade_boot + 5)
    assert lrm("blade3") == "wait_for_agent_lock"  # back: its LRM writes again, with no service there
