"""Rules: which blade an alert is about, and what that means given what PVE sees."""

from __future__ import annotations

from datetime import UTC, datetime

from alert_handlers.alert import Alert
from alert_handlers.rules import DEFAULT_RULES, Rule, decide
from infra.topology import Snapshot
from tests.unit.infra.homelab import homelab


def _alert(alertname: str, status: str = "firing", **labels: str) -> Alert:
    return Alert(name=alertname, status=status, labels={"alertname": alertname, **labels}, annotations={},
                 fingerprint="f", starts_at=datetime(2026, 12, 6, tzinfo=UTC), source="alertmanager")


def _node_down(snap: Snapshot, node: str) -> Snapshot:
    snap.nodes[node].ready = False
    return snap


def test_a_notready_node_on_a_blade_pve_sees_online_means_evacuate_that_blade() -> None:
    d = decide(_alert("KubeNodeNotReady", node="kube05"), _node_down(homelab(), "kube05"))
    assert (d.action, d.blade, d.mode) == ("evacuate", "blade3", "approve")
    assert "node kube05 is on blade3" in d.reason and "sick but alive" in d.reason


def test_the_same_alert_when_pve_sees_the_blade_offline_means_fence() -> None:
    snap = _node_down(homelab(), "kube03")
    snap.blades["blade3"].online = False
    d = decide(_alert("KubeNodeUnreachable", node="kube03"), snap)
    assert (d.action, d.blade) == ("fence", "blade3")


def test_a_down_osd_names_its_host_and_evacuates_without_noout() -> None:
    snap = homelab()
    snap.ceph.osds[1].up = False  # osd.1 on blade2
    d = decide(_alert("CephOSDDown"), snap)
    assert (d.action, d.blade, d.keep_noout) == ("evacuate", "blade2", False)
    by_check = decide(_alert("CephHealthDetail", name="OSD_DOWN"), snap)  # ceph_health_detail{name=...}
    assert (by_check.action, by_check.blade) == ("evacuate", "blade2")


def test_osds_down_on_two_blades_or_none_is_only_a_notice() -> None:
    snap = homelab()
    assert decide(_alert("CephOSDDown"), snap).action == "notify"  # the alert is stale: none down
    snap.ceph.osds[1].up = snap.ceph.osds[2].up = False
    d = decide(_alert("CephOSDDown"), snap)
    assert d.action == "notify" and "not one blade" in d.reason


def test_our_own_noout_and_unknown_alerts_never_act() -> None:
    assert decide(_alert("CephHealthWarning", name="OSDMAP_FLAGS"), homelab()).action == "ignore"
    d = decide(_alert("HighMemoryLoad"), homelab())
    assert d.action == "notify" and "no rule acts on it" in d.reason


def test_an_unknown_node_is_a_notice_not_a_guess() -> None:
    d = decide(_alert("KubeNodeNotReady", node="kube99"), homelab())
    assert d.action == "notify" and "'kube99' is not a node of a known VM" in d.reason


def test_resolved_alerts_resolve_and_notify_mode_rules_only_notify() -> None:
    assert decide(_alert("KubeNodeNotReady", "resolved", node="kube05"), homelab()).action == "resolve"
    rules = (Rule(alert="KubeNodeNotReady", target="node", mode="notify"),)
    d = decide(_alert("KubeNodeNotReady", node="kube05"), _node_down(homelab(), "kube05"), rules)
    assert (d.action, d.blade) == ("notify", "blade3")


def test_an_alert_and_a_finding_about_one_blade_are_one_fact() -> None:
    snap = _node_down(homelab(), "kube05")
    a = decide(_alert("KubeNodeNotReady", node="kube05"), snap)
    b = decide(_alert("KubeNodeUnreachable", node="kube05"), snap)
    assert a.fact == b.fact == "evacuate:blade3"
    assert {r.alert for r in DEFAULT_RULES} >= {"KubeNodeNotReady", "KubeNodeUnreachable", "CephOSDDown",
                                                 "CephOSDHostDown", "OSD_DOWN"}
