"""Nodes as K3s registers them, their heartbeats, and what a dead blade does to them and their pods."""

from __future__ import annotations

import json

from lab.k8s.controllers.base import LEASE, NODE, parse_time
from lab.k8s.controllers.events import EVENT
from tests.conftest import REFERENCE
from tests.unit.lab.k8s_world import World, running_ready

STRINGS = json.loads((REFERENCE / "k8s" / "node-lifecycle-strings.json").read_text())


def test_nodes_carry_k3s_labels_zone_capacity_and_version():
    w = World()
    server, agent = w.node("kube01"), w.node("kube05")
    labels = server["metadata"]["labels"]
    assert labels["node-role.kubernetes.io/control-plane"] == "true"
    assert labels["node-role.kubernetes.io/etcd"] == "true"
    assert labels["node-role.kubernetes.io/master"] == "true"
    assert labels["topology.kubernetes.io/zone"] == "blade1"
    assert labels["kubernetes.io/hostname"] == "kube01"
    assert labels["node.kubernetes.io/instance-type"] == "k3s"
    assert "node-role.kubernetes.io/control-plane" not in agent["metadata"]["labels"]
    assert agent["metadata"]["labels"]["topology.kubernetes.io/zone"] == "blade3"
    assert server["status"]["capacity"]["cpu"] == "4"
    assert server["status"]["nodeInfo"]["kubeletVersion"].endswith("+k3s1")
    assert {a["type"] for a in server["status"]["addresses"]} == {"InternalIP", "Hostname"}
    assert w.ready("kube01")["status"] == "True"


def test_kubelet_renews_its_lease_every_ten_seconds():
    w = World()
    first = parse_time(w.store.get(LEASE, "kube-node-lease", "kube03")["spec"]["renewTime"])
    w.run(25)
    renewed = parse_time(w.store.get(LEASE, "kube-node-lease", "kube03")["spec"]["renewTime"])
    assert 10 <= renewed - first <= 25
    assert w.ready("kube03")["status"] == "True"


def test_powered_off_blade_makes_its_nodes_unknown_after_the_grace_period():
    w = World()
    w.power_off_blade_of("kube05")  # blade3: kube03 and kube05
    w.run(39)
    assert w.ready("kube05")["status"] == "True"  # last renewal was up to 10 s before the cut
    w.run(21)
    ready = w.ready("kube05")
    unknown = STRINGS["kubelet_stopped_posting"]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown",
        unknown["reason"],
        unknown["message"],
    )
    conditions = {c["type"]: c["status"] for c in w.node("kube05")["status"]["conditions"]}
    assert conditions == {
        "Ready": "Unknown",
        "MemoryPressure": "Unknown",
        "DiskPressure": "Unknown",
        "PIDPressure": "Unknown",
    }
    assert w.taints("kube05") == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }
    assert all("timeAdded" in t for t in w.node("kube05")["spec"]["taints"])
    assert w.ready("kube03")["status"] == "Unknown"
    assert w.ready("kube01")["status"] == "True"
    on_node = [p for p in w.pods() if p["spec"].get("nodeName") == "kube05"]
    assert on_node and not any(running_ready(p) for p in on_node)


def test_pods_leave_a_dead_node_after_their_300s_tolerations_and_get_replaced():
    w = World()
    solo = {p["metadata"]["name"] for p in w.pods("default", "ingress-solo")}
    assert len(solo) == 2  # else every `all(...)` below holds of nothing
    w.power_off_blade_of("kube05")
    w.run(50 + 290, step=5)
    assert all("deletionTimestamp" not in w.pod("default", n)["metadata"] for n in solo)
    w.run(30, step=5)
    pods = {p["metadata"]["name"]: p for p in w.pods("default", "ingress-solo")}
    assert all("deletionTimestamp" in pods[n]["metadata"] for n in solo)  # Terminating: the kubelet is gone
    assert any(c["type"] == "DisruptionTarget" for c in pods[next(iter(solo))]["status"]["conditions"])
    reasons = {(e["involvedObject"]["name"], e["reason"]) for e in w.store.list(EVENT)}
    assert ("kube05", "NodeNotReady") in reasons
    assert all((name, "TaintManagerEviction") in reasons for name in solo)
    replacements = [p for n, p in pods.items() if n not in solo]
    assert len(replacements) == 2  # nodeSelector kube05: they wait, Pending, for their only node
    assert all(p["status"]["phase"] == "Pending" and "nodeName" not in p["spec"] for p in replacements)
    # daemon pods tolerate unreachable for ever; they stay
    speaker = next(
        p for p in w.pods("metallb-system", "metallb-speaker") if p["spec"]["nodeName"] == "kube05"
    )
    assert "deletionTimestamp" not in speaker["metadata"]


def test_whoami_replaces_its_evicted_pod_in_another_zone():
    w = World()
    victim = next(p for p in w.pods("default", "whoami") if w.blade_of(p["spec"]["nodeName"]) == "blade3")
    w.power_off_blade_of(victim["spec"]["nodeName"])
    w.run(50 + 300 + 20, step=5)
    live = w.live_pods("default", "whoami")
    assert len(live) == 3 and all(running_ready(p) for p in live)
    zones = {w.node(p["spec"]["nodeName"])["metadata"]["labels"]["topology.kubernetes.io/zone"] for p in live}
    assert len(zones) == 3 and "blade3" not in zones


def test_a_node_that_returns_is_ready_untainted_and_finishes_its_terminating_pods():
    w = World()
    blade = w.power_off_blade_of("kube05")
    w.run(50 + 300 + 10, step=5)
    assert any("deletionTimestamp" in p["metadata"] for p in w.pods("default", "ingress-solo"))
    w.pve.power_on(blade, w.now)
    w.run(90 + 5, step=5)
    for vm in w.pve.vms.values():
        if vm.node == blade and vm.name in ("kube03", "kube05"):
            w.pve.qemu_status_command(blade, vm.vmid, "start", w.now)
    w.run(60, step=5)
    assert w.ready("kube05")["status"] == "True"
    assert not w.taints("kube05")
    pods = w.pods("default", "ingress-solo")
    assert len(pods) == 2 and all(running_ready(p) and p["spec"]["nodeName"] == "kube05" for p in pods)


def test_live_migration_keeps_the_node_ready_with_its_cordon_labels_and_zone():
    w = World()
    vm = next(v for v in w.pve.vms.values() if v.name == "kube04")
    w.store.mutate(
        NODE,
        "",
        "kube04",
        lambda o: (o["spec"].update(unschedulable=True), o["metadata"]["labels"].update(team="infra")),
    )
    w.pve.qemu_migrate("blade4", vm.vmid, "blade2", w.now, online=True)
    w.run(120, step=2)
    assert vm.node == "blade2" and vm.status == "running"
    node = w.node("kube04")
    assert w.ready("kube04")["status"] == "True"
    assert node["spec"]["unschedulable"] is True and node["metadata"]["labels"]["team"] == "infra"
    assert w.taints("kube04") == {("node.kubernetes.io/unschedulable", "NoSchedule")}
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "blade4"  # K3s does not relabel


def test_when_every_node_is_down_nothing_is_evicted():
    w = World()
    for blade in ("blade1", "blade2", "blade3", "blade4"):
        w.pve.power_off(blade, w.now)
    w.run(50 + 300 + 30, step=5)
    # the K3s servers are down with their blades: no etcd, no controller marks or evicts anything
    assert all(w.ready(n)["status"] == "True" for n in ("kube01", "kube02", "kube03", "kube04", "kube05"))
    assert not any("deletionTimestamp" in p["metadata"] for p in w.pods())


def test_pods_of_a_rebooted_vm_come_back_with_one_restart_more():
    w = World()
    before = {p["metadata"]["name"] for p in w.pods("default", "ingress-solo")}
    assert len(before) == 2  # else the checks below hold of nothing
    w.pve.qemu_status_command("blade3", 105, "reboot", w.now)
    w.run(60, step=2)
    pods = w.pods("default", "ingress-solo")
    assert {p["metadata"]["name"] for p in pods} == before  # too short an outage for any eviction
    for pod in pods:
        status = pod["status"]["containerStatuses"][0]
        assert running_ready(pod) and status["restartCount"] == 1
        assert status["lastState"]["terminated"]["reason"] == "Unknown"


def test_a_deleted_node_stays_gone_until_k3s_restarts_and_its_pods_are_collected():
    w = World()
    w.store.remove(NODE, "", "kube05")
    w.run(45, step=5)
    assert w.store.find(NODE, "", "kube05") is None
    assert not [p for p in w.pods() if p["spec"].get("nodeName") == "kube05"]  # PodGC: orphans after 40 s
    w.pve.qemu_status_command("blade3", 105, "reboot", w.now)
    w.run(60, step=2)
    assert w.ready("kube05")["status"] == "True"


def test_a_vm_given_more_memory_shows_it_on_its_node_after_a_restart():
    w = World()
    w.pve.qemu_config_update("blade4", 104, {"memory": "8192"}, w.now, is_async=False)
    w.run(2)
    assert w.node("kube04")["status"]["capacity"]["memory"] == f"{(6 * 1024 - 80) * 1024}Ki"  # pending
    w.pve.qemu_status_command("blade4", 104, "reboot", w.now)
    w.run(60, step=2)
    assert w.node("kube04")["status"]["capacity"]["memory"] == f"{(8 * 1024 - 80) * 1024}Ki"


def test_a_blade_cut_off_from_the_network_takes_its_nodes_down_until_it_rejoins():
    w = World()
    w.pve.lose_quorum(w.now, "blade4")
    w.run(60, step=5)
    assert w.ready("kube04")["status"] == "Unknown" and w.ready("kube01")["status"] == "True"
    w.pve.regain_quorum(w.now, "blade4")
    w.run(20, step=2)
    assert w.ready("kube04")["status"] == "True"
