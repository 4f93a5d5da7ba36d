from __future__ import annotations

import pytest

from infra.planner import Intent, PlanOptions, UnknownBlade, plan
from infra.topology import GIB, Pdb, Vm

from .homelab import homelab, pod


def codes(p, severity: str) -> list[str]:
    return [f.code for f in p.findings if f.severity == severity]


def test_drain_blade3_moves_both_vms_and_keeps_etcd_servers_on_distinct_blades():
    p = plan(homelab(), Intent(kind="drain", blade="blade3"))
    targets = {m.name: m.target for m in p.moves}
    assert targets["kube03"] == "blade4"  # blade1 and blade2 already hold a K3s server
    assert targets["kube05"] in ("blade1", "blade2")
    assert p.ok and p.set_noout
    assert not codes(p, "warning").count("quorum-etcd")


def test_drain_blade3_names_ingress_solo_as_downtime_and_not_whoami():
    p = plan(homelab(), Intent(kind="drain", blade="blade3"))
    downtime = [f.message for f in p.warnings if f.code == "downtime"]
    assert any("ingress-solo" in m for m in downtime)
    assert not any("whoami" in m for m in downtime)


def test_drain_cordons_the_blades_nodes_and_leaves_daemonset_pods():
    p = plan(homelab(), Intent(kind="drain", blade="blade3"))
    nodes = {n.node: n for n in p.nodes}
    assert set(nodes) == {"kube03", "kube05"}
    assert "default/ingress-solo-a" in nodes["kube05"].evict
    assert nodes["kube05"].left == ["monitoring/node-exporter-kube05"]


def test_stopped_template_is_left_in_place():
    p = plan(homelab(), Intent(kind="drain", blade="blade1"))
    assert [m.name for m in p.moves] == ["kube01"]
    assert p.stays == ["ubuntu-2404-cloudinit (9000, template)"]


def test_pdb_that_never_allows_eviction_is_a_blocker():
    snap = homelab()
    snap.pdbs.append(Pdb(namespace="default", name="solo", match_labels={"app": "ingress-solo"},
                         disruptions_allowed=0, current_healthy=2, desired_healthy=2, expected_pods=2))
    p = plan(snap, Intent(kind="drain", blade="blade3"))
    assert "pdb" in codes(p, "blocker") and not p.ok


def test_pdb_without_room_now_is_only_a_warning():
    snap = homelab()
    snap.pdbs[0].disruptions_allowed = 0
    p = plan(snap, Intent(kind="drain", blade="blade3"))
    assert "pdb" in codes(p, "warning") and p.ok


def test_capacity_shortfall_is_a_blocker_naming_the_vm():
    snap = homelab()
    for i, blade in enumerate(("blade1", "blade2", "blade4")):
        snap.vms[200 + i] = Vm(vmid=200 + i, name=f"big{i}", blade=blade, maxmem=7 * GIB)
    p = plan(snap, Intent(kind="drain", blade="blade3"))
    blockers = [f.message for f in p.blockers if f.code == "capacity"]
    assert len(blockers) == 1 and "kube05" in blockers[0]
    assert next(m for m in p.moves if m.name == "kube05").target is None


def test_headroom_is_kept_free_on_targets():
    snap = homelab()
    # blade4 has 10 GiB free after kube03; a 14 GiB headroom leaves no room anywhere
    p = plan(snap, Intent(kind="drain", blade="blade3"), PlanOptions(headroom_gib=14))
    assert "capacity" in codes(p, "blocker")


def test_never_targets_offline_maintenance_or_unhealthy_blades():
    snap = homelab()
    snap.blades["blade1"].online = False
    snap.blades["blade2"].maintenance = True
    snap.ceph.osds[3].up = False  # blade4's OSD
    p = plan(snap, Intent(kind="drain", blade="blade3"), PlanOptions(allow_more_maintenance=True))
    assert all(m.target is None for m in p.moves)
    assert "capacity" in codes(p, "blocker")


def test_second_blade_in_maintenance_is_refused_unless_overridden():
    snap = homelab()
    snap.blades["blade2"].maintenance = True
    assert "maintenance" in codes(plan(snap, Intent(kind="drain", blade="blade3")), "blocker")
    overridden = plan(snap, Intent(kind="drain", blade="blade3"), PlanOptions(allow_more_maintenance=True))
    assert "maintenance" not in codes(overridden, "blocker")


def test_etcd_spread_falls_back_with_a_warning_when_no_free_blade_exists():
    snap = homelab()
    del snap.blades["blade4"]
    snap.vms[104].blade = "blade1"
    p = plan(snap, Intent(kind="drain", blade="blade3"))
    assert next(m for m in p.moves if m.name == "kube03").target in ("blade1", "blade2")
    assert "quorum-etcd" in codes(p, "warning")


def test_storm_second_blade_down_puts_etcd_quorum_at_risk():
    snap = homelab()
    snap.blades["blade2"].online = False
    snap.nodes["kube02"].ready = False
    p = plan(snap, Intent(kind="down", blade="blade3"))
    assert "quorum-etcd" in codes(p, "warning")


def test_an_offline_blade_cannot_be_drained_or_rebooted():
    snap = homelab()
    snap.blades["blade3"].online = False
    for kind in ("drain", "reboot"):
        assert "offline" in codes(plan(snap, Intent(kind=kind, blade="blade3")), "blocker")
    assert "offline" not in codes(plan(snap, Intent(kind="down", blade="blade3")), "blocker")


def test_another_blade_down_blocks_a_reboot_and_warns_a_drain():
    snap = homelab()
    snap.blades["blade4"].online = False
    reboot = plan(snap, Intent(kind="reboot", blade="blade3"))
    assert "storm" in codes(reboot, "blocker")
    assert any(f.message.startswith("blade4 already offline or unhealthy: rebooting blade3 as well leaves 2")
               for f in reboot.blockers)
    assert "storm" in codes(plan(snap, Intent(kind="drain", blade="blade3")), "warning")


def test_reboot_of_a_blade_when_another_is_down_is_blocked_by_quorum():
    snap = homelab()
    snap.blades["blade1"].online = False
    snap.ceph.mons[0].in_quorum = False
    p = plan(snap, Intent(kind="reboot", blade="blade2"))
    assert "quorum-mon" in codes(p, "blocker")


def test_our_own_noout_is_not_a_ceph_problem():
    snap = homelab()
    snap.ceph.health, snap.ceph.flags = "HEALTH_WARN", ["noout"]
    snap.ceph.checks = {"OSDMAP_FLAGS": "noout flag(s) set"}
    p = plan(snap, Intent(kind="reboot", blade="blade3"))
    assert "ceph" not in codes(p, "blocker") + codes(p, "warning")
    assert not p.set_noout


def test_degraded_ceph_blocks_a_reboot_but_only_warns_a_drain():
    snap = homelab()
    snap.ceph.health, snap.ceph.checks = "HEALTH_WARN", {"PG_DEGRADED": "Degraded data redundancy"}
    assert "ceph" in codes(plan(snap, Intent(kind="reboot", blade="blade3")), "blocker")
    assert "ceph" in codes(plan(snap, Intent(kind="drain", blade="blade3")), "warning")


def test_blade_down_warns_that_a_non_ha_vm_stays_down():
    p = plan(homelab(), Intent(kind="down", blade="blade3"))
    assert any("kube05" in f.message for f in p.warnings if f.code == "not-ha")


def test_unknown_blade_lists_the_valid_ones():
    with pytest.raises(UnknownBlade, match="blade1, blade2, blade3, blade4"):
        plan(homelab(), Intent(kind="drain", blade="blade9"))


def test_unmanaged_pod_is_warned_about():
    snap = homelab()
    snap.pods.append(pod("debug", "kube03", kind=None))
    p = plan(snap, Intent(kind="drain", blade="blade3"))
    assert "unmanaged" in codes(p, "warning")


def test_mismatches_are_reported_as_warnings():
    snap = homelab()
    snap.mismatches.append("K8s node kube03 has zone blade3 but its VM 103 runs on blade4")
    assert "mismatch" in codes(plan(snap, Intent(kind="drain", blade="blade1")), "warning")


def test_pods_with_emptydir_data_are_warned_about():
    snap = homelab()
    snap.pods[-2].local_storage = True  # ingress-solo-b on kube05
    assert "local-storage" in codes(plan(snap, Intent(kind="drain", blade="blade3")), "warning")


def test_an_unreachable_system_blocks_a_drain_but_not_a_down_assessment():
    snap = homelab()
    snap.errors.append("k8s: ConnectionRefusedError")
    assert "unreachable" in codes(plan(snap, Intent(kind="drain", blade="blade3")), "blocker")
    assert "unreachable" in codes(plan(snap, Intent(kind="down", blade="blade3")), "warning")


def test_an_unknown_blade_names_the_valid_ones_and_the_likely_one_meant():
    assert str(UnknownBlade("Blade3", ["blade1", "blade3"])) == (
        "unknown blade 'Blade3'; valid blades: blade1, blade3 (did you mean 'blade3'?)")
    assert "or all (did you mean 'all'?)" in str(UnknownBlade("ALL", ["blade1"], also=("all",)))
    assert "did you mean" not in str(UnknownBlade("zzz", ["blade1"]))
