"""The K3s cluster's behaviour, seen through the official Kubernetes client (and proxmoxer for the
guest agent): a blade's power cut plays out in Kubernetes as it would for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families

from lab.scenario import VmSpec
from tests.conftest import REFERENCE, RunningLab
from tests.lab.kube import kubeconfig
from tests.lab.pve_client import proxmox, vm_resource, wait_for
from tests.unit.lab.k8s_world import homelab

SCALE = 100  # lab seconds per real second: the 350 s of grace and tolerations take 3.5 s
OUT_OF_SERVICE = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}
EVICTION_429 = json.loads((REFERENCE / "k8s" / "eviction-errors.json").read_text())["too_many_requests_429"]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[RunningLab]:
    """The homelab without HA (a dead blade's VMs stay dead), plus a spare VM with no K3s yet."""
    scenario = homelab()
    spare = VmSpec(
        vmid=106, name="kube06", blade="blade4", cores=2, memory_gib=2, ipconfig0="ip=192.168.1.126/24"
    )
    with RunningLab(
        tmp_path / "lab", scenario.model_copy(update={"vms": [*scenario.vms, spare]}), SCALE
    ) as running:
        yield running


@pytest.fixture
def v1(lab: RunningLab) -> client.CoreV1Api:
    v1 = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig(lab))))
    wait_for(lambda: (pods := v1.list_namespaced_pod("default").items) and all(_ready(v1, p) for p in pods),
             10, "steady state")  # an empty list is not steady: the controllers have not started the pods yet
    return v1


def _ready(v1: client.CoreV1Api, pod: client.V1Pod) -> bool:
    return pod.status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )


def _node_ready(v1: client.CoreV1Api, name: str) -> str:
    return next(c.status for c in v1.read_node(name).status.conditions if c.type == "Ready")


def _power_off(lab: RunningLab, blade: str) -> None:
    lab.call(lambda: lab.lab.pve.power_off(blade, lab.lab.clock.now()))


def _scraped(lab: RunningLab, family: str, **labels: str) -> float | None:
    """One sample from the lab's /metrics, as Prometheus would scrape it."""
    text = requests.get(f"http://127.0.0.1:{lab.server.ports.control}/metrics", timeout=5).text
    return next(
        (
            s.value
            for f in text_string_to_metric_families(text)
            if f.name == family
            for s in f.samples
            if labels.items() <= s.labels.items()
        ),
        None,
    )


def _run(agent, command: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """A command through the guest agent, waited for like a client polls exec-status."""
    pid = agent.exec.post(command=command)["pid"]
    return wait_for(lambda: (r := agent("exec-status").get(pid=pid))["exited"] and r, 5, "guest command")


def _on(v1: client.CoreV1Api, node: str, namespace: str = "default") -> list[client.V1Pod]:
    return v1.list_namespaced_pod(namespace, field_selector=f"spec.nodeName={node}").items


def test_power_off_makes_nodes_not_ready_then_evicts_their_pods(
    lab: RunningLab, v1: client.CoreV1Api
) -> None:
    solo = {p.metadata.name for p in _on(v1, "kube05")}
    assert len([n for n in solo if n.startswith("ingress-solo-")]) == 2
    _power_off(lab, "blade3")
    wait_for(lambda: _node_ready(v1, "kube05") == "Unknown", 5, "kube05 Ready=Unknown")
    ready = next(c for c in v1.read_node("kube05").status.conditions if c.type == "Ready")
    assert (ready.reason, ready.message) == ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    taints = {(t.key, t.effect) for t in v1.read_node("kube05").spec.taints}
    assert taints == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }
    assert all(p.metadata.deletion_timestamp is None for p in _on(v1, "kube05"))  # tolerated for 300 s
    assert (
        _scraped(lab, "kube_node_status_condition", node="kube05", condition="Ready", status="unknown") == 1
    )
    assert (
        _scraped(
            lab,
            "kube_node_spec_taint",
            node="kube05",
            key="node.kubernetes.io/unreachable",
            effect="NoSchedule",
        )
        == 1
    )
    wait_for(lambda: (pods := _on(v1, "kube05")) and all(p.metadata.deletion_timestamp for p in pods),
             8, "evictions")  # Terminating, not gone: no kubelet confirms the deletion
    whoami = [
        p
        for p in v1.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=whoami").items
        if p.metadata.deletion_timestamp is None
    ]
    assert len(whoami) == 3
    wait_for(
        lambda: all(
            _ready(v1, p)
            for p in v1.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=whoami").items
            if p.metadata.deletion_timestamp is None
        ),
        5,
        "whoami replacement ready",
    )


def test_statefulset_pod_waits_for_out_of_service_then_moves(lab: RunningLab, v1: client.CoreV1Api) -> None:
    storage = client.StorageV1Api(v1.api_client)
    dead = v1.read_namespaced_pod("postgres-0", "default").spec.node_name
    old_uid = v1.read_namespaced_pod("postgres-0", "default").metadata.uid
    blade = lab.call(lambda: next(v.node for v in lab.lab.pve.vms.values() if v.name == dead))
    _power_off(lab, blade)
    wait_for(
        lambda: v1.read_namespaced_pod("postgres-0", "default").metadata.deletion_timestamp, 8, "eviction"
    )
    stuck = v1.read_namespaced_pod("postgres-0", "default")
    assert stuck.metadata.uid == old_uid and stuck.spec.node_name == dead
    assert {
        va.spec.node_name
        for va in storage.list_volume_attachment().items
        if va.spec.source.persistent_volume_name
        == v1.read_namespaced_persistent_volume_claim("data-postgres-0", "default").spec.volume_name
    } == {dead}

    taints = [t.to_dict() for t in v1.read_node(dead).spec.taints or []]
    v1.patch_node(
        dead,
        {
            "spec": {
                "taints": [{k: v for k, v in t.items() if v is not None} for t in taints] + [OUT_OF_SERVICE]
            }
        },
    )

    def moved() -> client.V1Pod | None:
        pod = v1.read_namespaced_pod("postgres-0", "default")
        return pod if pod.metadata.uid != old_uid and _ready(v1, pod) else None

    pod = wait_for(moved, 5, "postgres-0 running elsewhere")
    assert pod.spec.node_name != dead
    volume = v1.read_namespaced_persistent_volume_claim("data-postgres-0", "default").spec.volume_name
    assert {
        va.spec.node_name
        for va in storage.list_volume_attachment().items
        if va.spec.source.persistent_volume_name == volume
    } == {pod.spec.node_name}


def test_eviction_api_refuses_what_the_whoami_budget_forbids(v1: client.CoreV1Api) -> None:
    names = [
        p.metadata.name
        for p in v1.list_namespaced_pod("default", label_selector="app.kubernetes.io/name=whoami").items
    ]
    policy = client.PolicyV1Api(v1.api_client)
    # the disruption controller has to count the ready pods first: until then it allows nothing
    wait_for(lambda: (policy.read_namespaced_pod_disruption_budget("whoami", "default").status
                      .disruptions_allowed == 1), 10, "the whoami budget to allow one eviction")
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=names[0], namespace="default"))
    v1.create_namespaced_pod_eviction(names[0], "default", body)
    # at 50x the evicted pod's replacement is ready within a real tenth of a second, which would
    # allow the next eviction again: ask for all three instead, so the budget refuses for sure
    policy.patch_namespaced_pod_disruption_budget("whoami", "default", {"spec": {"minAvailable": 3}})
    wait_for(lambda: (policy.read_namespaced_pod_disruption_budget("whoami", "default").status
                      .desired_healthy == 3), 10, "the budget to want three")
    with pytest.raises(client.ApiException) as refused:
        v1.create_namespaced_pod_eviction(
            names[1],
            "default",
            client.V1Eviction(metadata=client.V1ObjectMeta(name=names[1], namespace="default")),
        )
    assert refused.value.status == 429
    status = json.loads(refused.value.body)
    assert (status["reason"], status["message"]) == ("TooManyRequests", EVICTION_429["message"])
    assert status["details"]["causes"][0]["reason"] == "DisruptionBudget"
    assert status["details"]["causes"][0]["message"].startswith(
        "The disruption budget whoami needs 3 healthy pods"
    )


@pytest.mark.parametrize("role", ["agent", "server"])
def test_guest_agent_k3s_install_joins_the_vm_with_its_labels(lab: RunningLab, v1: client.CoreV1Api,
                                                              role: str) -> None:
    pve = proxmox(lab)
    token = _run(pve.nodes("blade1").qemu(101).agent, ["cat", "/var/lib/rancher/k3s/server/node-token"])
    script = (
        f"curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC='{role} --server https://192.168.1.121:6443 "
        f"--node-label role=edge' K3S_TOKEN={token['out-data'].strip()} sh -"
    )
    result = _run(pve.nodes("blade4").qemu(106).agent, ["sh", "-c", script])
    assert result["exitcode"] == 0
    wait_for(lambda: any(n.metadata.name == "kube06" for n in v1.list_node().items), 5, "kube06 registered")
    wait_for(lambda: _node_ready(v1, "kube06") == "True", 5, "kube06 Ready")
    node = v1.read_node("kube06")
    assert _ready_since(v1, "kube06") > node.metadata.creation_timestamp  # NotReady until flannel was up
    labels = node.metadata.labels
    assert labels["role"] == "edge" and "topology.kubernetes.io/zone" not in labels  # K3s sets none
    assert ("node-role.kubernetes.io/control-plane" in labels) == (role == "server")


def _ready_since(v1: client.CoreV1Api, name: str) -> object:
    return next(c.last_transition_time for c in v1.read_node(name).status.conditions if c.type == "Ready")


def test_live_migration_keeps_a_cordoned_labelled_tainted_node_ready(lab: RunningLab,
                                                                     v1: client.CoreV1Api) -> None:
    taint = {"key": "drewburr.io/maintenance", "value": "planned", "effect": "NoSchedule"}
    v1.patch_node("kube04", {"spec": {"unschedulable": True, "taints": [taint]},
                             "metadata": {"labels": {"team": "infra"}}})
    ready_since = _ready_since(v1, "kube04")
    pve = proxmox(lab)
    upid = pve.nodes("blade4").qemu(104).migrate.post(target="blade2", online=1)
    wait_for(lambda: pve.nodes("blade4").tasks(upid).status.get()["status"] == "stopped", 8, "migration")
    assert vm_resource(pve, 104)["node"] == "blade2"
    node = v1.read_node("kube04")
    assert _node_ready(v1, "kube04") == "True"
    assert node.spec.unschedulable and node.metadata.labels["team"] == "infra"
    assert ("drewburr.io/maintenance", "planned", "NoSchedule") in {(t.key, t.value, t.effect)
                                                                  for t in node.spec.taints}
    assert _ready_since(v1, "kube04") == ready_since
    assert node.metadata.labels["topology.kubernetes.io/zone"] == "blade4"
