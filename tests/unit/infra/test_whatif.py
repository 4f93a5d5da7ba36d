"""`what_if`: what losing a blade now means, on the hand-built seed homelab."""

from __future__ import annotations

import pytest

from infra.ceph_capacity import after_out
from infra.planner import Intent, UnknownBlade, plan
from infra.topology import GIB, Ceph, HaRule, Osd
from infra.whatif import what_if

from .homelab import homelab, pod

TB = 1000**4


def sized(used: list[float], size: int = TB // 2) -> Ceph:
    """One OSD per blade with that share used."""
    return Ceph(osds=[Osd(id=i, host=f"blade{i + 1}", total_bytes=size, used_bytes=int(size * u))
                      for i, u in enumerate(used)])


def loss(w, workload: str):
    (found,) = [p for p in w.pods if p.workload == workload]
    return found


def test_blade3_loss_restarts_kube03_where_most_memory_is_free_and_kube05_stays_down():
    w = what_if(homelab(), "blade3")
    assert [(r.name, r.target) for r in w.restarts] == [("kube03", "blade1")]
    assert w.stays_down == ["kube05 (105): not HA-managed, down until blade3 is back"]


def test_on_a_blade_already_dead_the_ha_vms_waiting_for_recovery_are_placed():
    snap = homelab()
    snap.blades["blade3"].online = False
    snap.vms[103].status, snap.vms[103].ha_state = "stopped", "fence"
    snap.vms[105].status = "stopped"
    w = what_if(snap, "blade3")
    assert w.offline_now and [(r.name, r.target) for r in w.restarts] == [("kube03", "blade1")]


def test_a_strict_ha_rule_decides_where_and_can_leave_a_vm_down():
    snap = homelab()
    snap.ha_rules = [HaRule(resources=["vm:103"], nodes={"blade4": 1}, strict=False)]
    assert [r.target for r in what_if(snap, "blade3").restarts] == ["blade4"]
    snap.ha_rules = [HaRule(resources=["vm:103"], nodes={"blade3": 0}, strict=True)]
    (restart,) = what_if(snap, "blade3").restarts
    assert restart.target is None and "strict HA rule allows only blade3" in restart.why
    down = plan(snap, Intent(kind="down", blade="blade3"))  # the planner places as PVE HA does
    assert [m.target for m in down.moves] == [None]
    assert [f.message for f in down.warnings if f.code == "not-restarted"] == [
        "kube03 (103) is HA, but its strict HA rule allows only blade3"]


def test_a_vm_that_fits_nowhere_stays_down_and_says_so():
    snap = homelab()
    for b in ("blade1", "blade2", "blade4"):
        snap.blades[b].mem = snap.blades[b].maxmem - 2 * GIB  # 2 GiB free, kube03 needs 4
    (restart,) = what_if(snap, "blade3").restarts
    assert restart.target is None and "4.0 GiB free" in restart.why


def test_quorum_is_kept_losing_one_blade_and_lost_when_another_is_already_down():
    kept = {q.system: q.kept for q in what_if(homelab(), "blade3").quorum}
    assert kept == {"PVE (corosync)": True, "Ceph monitors": True, "etcd (K3s servers)": True}
    snap = homelab()
    snap.blades["blade2"].online = False
    snap.ceph.mons[1].in_quorum = False
    snap.nodes["kube02"].ready = False
    w = what_if(snap, "blade3")
    assert {q.system: (q.staying, q.needed, q.kept) for q in w.quorum} == {
        "PVE (corosync)": (2, 3, False), "Ceph monitors": (1, 2, False), "etcd (K3s servers)": (1, 2, False)}
    # no PVE quorum: HA restarts nothing
    assert [r.target for r in w.restarts] == [None] and "no quorum" in w.restarts[0].why


def test_the_pinned_ingress_solo_is_a_single_point_of_failure_drewburr_cannot_help():
    snap = homelab()
    for p in snap.pods:
        if p.name.startswith("ingress-solo"):
            p.pinned = "kube05"
    w = what_if(snap, "blade3")
    solo = loss(w, "default/Deployment/ingress-solo")
    assert solo.elsewhere == 0 and solo.without.startswith("never: pinned")
    assert solo.with_drewburr == solo.without
    assert any(f.code == "downtime" and "ingress-solo" in f.message for f in w.findings)


def test_deployment_pods_come_back_sooner_with_drewburr_when_pve_fences_the_blade():
    w = what_if(homelab(), "blade3")
    traefik = loss(w, "kube-system/Deployment/traefik")
    assert traefik.elsewhere == 1
    assert traefik.without.startswith("~350 s") and traefik.with_drewburr.startswith("~120 s")


def test_a_statefulset_pod_on_a_lost_non_ha_node_never_returns_without_drewburr():
    snap = homelab()
    snap.pods.append(pod("postgres-0", "kube05", "StatefulSet", "postgres", app="postgres"))
    snap.pods = [p for p in snap.pods if not (p.name == "postgres-0" and p.node == "kube04")]
    pg = loss(what_if(snap, "blade3"), "default/StatefulSet/postgres")
    assert pg.without.startswith("never: Terminating") and pg.with_drewburr.startswith("~120 s")


def test_a_blade_without_ha_services_is_not_fenced_so_drewburr_waits_for_an_admin():
    snap = homelab()
    snap.vms[103].ha_state = None
    pg = loss(what_if(snap, "blade3"), "kube-system/Deployment/traefik")
    assert "unless an admin confirms the blade off" in pg.with_drewburr


def test_pdbs_that_lose_too_many_pods_are_named():
    snap = homelab()
    snap.pdbs[0].current_healthy = 2  # whoami-c is not ready: losing whoami-b breaks minAvailable 2
    assert what_if(snap, "blade3").pdbs == ["PDB default/whoami: 1 healthy, 2 wanted (loses whoami-b)"]
    assert what_if(homelab(), "blade3").pdbs == []


def test_ceph_capacity_after_the_osd_is_out():
    low = after_out(sized([0.2] * 4), "blade3")
    assert low is not None and not low.risks and low.summary.startswith("can re-replicate blade3")
    assert round(low.used_after or 0, 3) == round(0.8 / 3, 3)
    high = after_out(sized([0.7] * 4), "blade3")
    assert high is not None and high.past_nearfull and "93%" in high.risks[0]
    three = after_out(sized([0.2] * 3), "blade3")
    assert three is not None and three.too_few_hosts
    assert after_out(Ceph(osds=[Osd(id=0, host="blade1")]), "blade1") is None  # no sizes: cannot tell


def test_whatif_and_the_drain_and_reboot_plans_warn_of_the_same_ceph_capacity_risk():
    snap = homelab()
    snap.ceph = sized([0.7] * 4)
    assert what_if(snap, "blade3").ceph is not None
    for kind in ("drain", "reboot", "down"):
        p = plan(snap, Intent(kind=kind, blade="blade3"))
        (risk,) = [f for f in p.findings if f.code == "ceph-capacity"]
        assert risk.severity == "warning" and "past nearfull 85%" in risk.message
    snap.ceph = sized([0.2] * 4)
    drain = plan(snap, Intent(kind="drain", blade="blade3"))
    assert not [f for f in drain.findings if f.code == "ceph-capacity"]


def test_an_unknown_blade_is_refused():
    with pytest.raises(UnknownBlade, match="valid blades"):
        what_if(homelab(), "blade9")
