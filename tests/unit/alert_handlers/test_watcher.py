"""The watcher's pure parts: facts from API payloads, findings only when a fact changes, and one
fact (so one incident) for a watcher finding and an alert about the same blade."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alert_handlers.alert import Alert
from alert_handlers.rules import decide
from alert_handlers.watcher import Watcher, node_fact, osd_facts, pve_facts
from alert_handlers.zones import zone_fixes
from infra.gateways.pve_models import HaManager
from infra.topology import Snapshot
from tests.conftest import REFERENCE
from tests.unit.infra.homelab import homelab

NOT_READY = {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
             "message": "Kubelet stopped posting node status."}


def node(name: str, *conditions: dict[str, str]) -> dict:
    return {"metadata": {"name": name}, "status": {"conditions": list(conditions)}}


def watcher() -> tuple[Watcher, list[Alert]]:
    said: list[Alert] = []
    return Watcher(None, None, said.extend, clock=lambda: 1_765_000_000.0), said  # type: ignore[arg-type]


def test_a_node_whose_ready_condition_is_unknown_is_not_ready_with_kubernetes_wording():
    fact = node_fact(node("kube03", NOT_READY))
    assert fact.bad and fact.labels == {"node": "kube03"}
    assert fact.summary == ("K8s node kube03 is NotReady (NodeStatusUnknown: Kubelet stopped posting "
                            "node status.)")
    assert not node_fact(node("kube03", {"type": "Ready", "status": "True"})).bad
    assert node_fact(node("kube09")).bad  # no Ready condition yet: not ready


def test_a_finding_is_said_once_when_it_fires_and_once_when_it_resolves_with_a_stable_fingerprint():
    w, said = watcher()
    w.update([node_fact(node("kube03", NOT_READY))])
    w.update([node_fact(node("kube03", NOT_READY))])  # every watch event about it: nothing new
    w.update([node_fact(node("kube03", {"type": "Ready", "status": "True"}))])
    assert [(a.status, a.source, a.name) for a in said] == [("firing", "watcher", "KubeNodeNotReady"),
                                                             ("resolved", "watcher", "KubeNodeNotReady")]
    assert said[0].fingerprint == said[1].fingerprint and said[0].starts_at == said[1].starts_at
    w.update([node_fact(node("kube03", NOT_READY))])
    assert said[2].fingerprint == said[0].fingerprint  # the same fact again: the same fingerprint


def test_pve_findings_follow_the_ha_manager_from_fence_to_fenced_and_back_online():
    status = json.loads((REFERENCE / "pve" / "cluster-status.json").read_text())["data"]
    names = [e["name"] for e in status if e.get("type") == "node"]
    fencing: set[str] = set()
    fenced: set[str] = set()
    lost = [{**e, "online": 0} if e.get("name") == names[0] else e for e in status]

    def facts(cluster: list[dict], state: str) -> dict[str, bool]:
        manager = HaManager.parse({"manager_status": {"node_status": {names[0]: state}}})
        return {f"{f.name}:{f.labels['blade']}": f.bad for f in pve_facts(cluster, manager, fencing, fenced)
                if f.labels["blade"] == names[0]}

    assert facts(status, "online") == {f"PveNodeOffline:{names[0]}": False, f"PveHaFenced:{names[0]}": False}
    assert facts(lost, "fence") == {f"PveNodeOffline:{names[0]}": True, f"PveHaFenced:{names[0]}": False}
    assert facts(lost, "unknown") == {f"PveNodeOffline:{names[0]}": True, f"PveHaFenced:{names[0]}": True}
    assert facts(status, "online")[f"PveHaFenced:{names[0]}"] is False
    # offline without ever being fenced (no HA services: no watchdog): never "fenced"
    assert facts(lost, "unknown")[f"PveHaFenced:{names[0]}"] is False


def test_a_down_osd_is_a_finding_naming_the_daemon_and_its_host():
    tree = {"root": {"children": [{"type": "host", "name": "blade2", "children": [
        {"id": 1, "type": "osd", "host": "blade2", "status": "down", "in": 1}]}]}}
    (fact,) = osd_facts(tree)
    assert fact.bad and fact.labels == {"ceph_daemon": "osd.1", "hostname": "blade2"}


def _finding(w: Watcher, fact) -> Alert:
    (alert,) = w.update([fact])
    return alert


def _dead_blade3() -> Snapshot:
    snap = homelab()
    snap.blades["blade3"].online = False
    snap.nodes["kube03"].ready = snap.nodes["kube05"].ready = False
    snap.ceph.osds[2].up = False
    return snap


def test_an_alert_and_the_watchers_findings_about_blade3_are_one_fact():
    snap = _dead_blade3()
    w, _ = watcher()
    alert = Alert(name="KubeNodeNotReady", status="firing", source="alertmanager", annotations={},
                  labels={"alertname": "KubeNodeNotReady", "node": "kube05", "job": "kube-state-metrics"},
                  fingerprint="a1b2", starts_at=datetime(2026, 12, 6, tzinfo=UTC))
    status = [{"type": "node", "name": b, "online": int(b != "blade3")} for b in snap.blades]
    findings = [_finding(w, node_fact(node("kube03", NOT_READY))),
                *w.update(pve_facts(status, HaManager.parse({}), set(), set())),
                *w.update(osd_facts({"children": [{"id": 2, "type": "osd", "host": "blade3",
                                                   "status": "down"}]}))]
    assert {f.name for f in findings} == {"KubeNodeNotReady", "PveNodeOffline", "CephOSDDown"}
    facts = {decide(a, snap).fact for a in [alert, *findings]}
    assert facts == {"fence:blade3"}


def test_zone_labels_follow_a_vm_moved_for_good_but_not_during_a_maintenance():
    snap = homelab()
    snap.vms[103].blade = "blade1"  # PVE HA restarted kube03 on blade1
    fixes, kept = zone_fixes(snap, {}, {})
    assert [(f.node, f.old, f.new) for f in fixes] == [("kube03", "blade3", "blade1")] and kept == []
    snap.blades["blade3"].maintenance = True  # a drain of blade3 moved it: it comes home
    fixes, kept = zone_fixes(snap, {}, {})
    assert fixes == [] and kept == ["kube03: zone blade3 kept while blade3 is in maintenance "
                                    "(kube03 on blade1 comes home)"]
    snap.blades["blade3"].maintenance = False  # `restore blade3 --stay`: home remembered, no maintenance
    assert [f.new for f in zone_fixes(snap, {103: ("blade3", 7)}, {})[0]] == ["blade1"]
    assert zone_fixes(snap, {}, {"blade:blade1": 9})[1] == [
        "kube03: operation 9 holds blade1; looked at again after it"]
    snap.vms[103].ha_state = "recovery"
    assert zone_fixes(snap, {}, {})[0] == []  # not settled yet
    snap.vms[103].ha_state, snap.nodes["kube03"].zone = "started", None
    assert zone_fixes(snap, {}, {}) == ([], [])  # no zone label: none is added
