"""Joining K3s by running the install command through the guest agent."""

from __future__ import annotations

import re

import pytest

from lab.k8s.controllers.base import NODE
from lab.k8s.join import InstallFailed, NotAnInstall, parse_install
from lab.scenario import VmSpec
from tests.unit.lab.k8s_world import World, homelab

SERVER = "https://192.168.1.121:6443"


def _sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def test_agent_install_with_labels_and_taints():
    join = parse_install(
        _sh(
            "curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC='agent --node-label tier=gpu "
            "--node-label=zone=x --node-taint dedicated=gpu:NoSchedule' "
            f"K3S_URL={SERVER} K3S_TOKEN=K10abc sh -"
        )
    )
    assert join.role == "agent" and join.server_url == SERVER
    assert join.labels == {"tier": "gpu", "zone": "x"}
    assert join.taints == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]


def test_role_comes_from_k3s_url_when_exec_names_none():
    assert (
        parse_install(_sh(f"curl -sfL https://get.k3s.io | K3S_URL={SERVER} K3S_TOKEN=t sh -")).role
        == "agent"
    )
    assert parse_install(_sh("curl -sfL https://get.k3s.io | sh -s - --cluster-init")).role == "server"
    server = parse_install(
        [
            "bash",
            "-c",
            f"curl -sfL https://get.k3s.io | K3S_TOKEN=t sh -s - server --server {SERVER}",
        ]
    )
    assert server.role == "server" and server.server_url == SERVER


@pytest.mark.parametrize(
    "argv",
    [
        ["uptime"],
        _sh("curl -sfL https://example.com/install.sh | sh -"),
        _sh("curl -sfL https://get.k3s.io -o /tmp/k3s.sh"),
    ],
)
def test_other_commands_are_not_installs(argv):
    with pytest.raises(NotAnInstall):
        parse_install(argv)


def test_agent_without_a_token_is_refused_like_the_script():
    with pytest.raises(
        InstallFailed,
        match=re.escape(
            "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but "
            "K3S_TOKEN or K3S_TOKEN_FILE is not defined."
        ),
    ):
        parse_install(_sh(f"curl -sfL https://get.k3s.io | K3S_URL={SERVER} sh -"))
    with pytest.raises(InstallFailed, match="Only https:// URLs are supported for K3S_URL"):
        parse_install(_sh("curl -sfL https://get.k3s.io | K3S_URL=http://x:6443 K3S_TOKEN=t sh -"))


def _world_with_spare_vm() -> World:
    scenario = homelab()
    spare = VmSpec(
        vmid=106, name="kube06", blade="blade4", cores=4, memory_gib=4, ipconfig0="ip=192.168.1.126/24"
    )
    return World(scenario.model_copy(update={"vms": [*scenario.vms, spare]}))


def _token(w: World) -> str:
    """Read the join token from a server, as a bootstrap does."""
    pid = w.pve.qemu_agent_exec("blade1", 101, ["cat", "/var/lib/rancher/k3s/server/node-token"], w.now)[
        "pid"
    ]
    w.run(2)
    return w.pve.qemu_agent_exec_status("blade1", 101, pid, w.now)["out-data"].strip()


def _exec(w: World, script: str) -> dict:
    pid = w.pve.qemu_agent_exec("blade4", 106, _sh(script), w.now)["pid"]
    w.run(2)
    return w.pve.qemu_agent_exec_status("blade4", 106, pid, w.now)


def test_servers_hold_the_node_token_and_agents_do_not():
    w = World()
    assert _token(w).startswith("K10") and "::server:" in _token(w)
    pid = w.pve.qemu_agent_exec("blade4", 104, ["cat", "/var/lib/rancher/k3s/server/node-token"], w.now)[
        "pid"
    ]
    w.run(2)
    result = w.pve.qemu_agent_exec_status("blade4", 104, pid, w.now)
    assert result["exitcode"] == 1 and "No such file or directory" in result["err-data"]


def test_joining_with_a_wrong_token_fails_the_way_each_unit_fails():
    w = _world_with_spare_vm()
    agent = _exec(w, f"curl -sfL https://get.k3s.io | K3S_URL={SERVER} K3S_TOKEN=wrong sh -")
    assert agent["exitcode"] == 0  # k3s-agent is Type=exec: systemctl start returns at once
    w.run(30)
    assert w.store.find(NODE, "", "kube06") is None
    server = _exec(w, f"curl -sfL https://get.k3s.io | K3S_TOKEN=wrong sh -s - server --server {SERVER}")
    assert server["exitcode"] == 1
    assert server["err-data"].startswith("Job for k3s.service failed because the control process exited")


def test_guest_agent_install_joins_the_vm_as_a_ready_node_with_its_labels():
    w = _world_with_spare_vm()
    assert w.store.find(NODE, "", "kube06") is None
    pid = w.pve.qemu_agent_exec(
        "blade4",
        106,
        _sh(
            "curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC='agent --node-label role=storage "
            f"--node-taint dedicated=storage:NoSchedule' K3S_URL={SERVER} K3S_TOKEN={_token(w)} sh -"
        ),
        w.now,
    )["pid"]
    w.run(5)
    result = w.pve.qemu_agent_exec_status("blade4", 106, pid, w.now)
    assert result["exitcode"] == 0 and "[INFO]  systemd: Starting k3s-agent" in result["out-data"]
    node = w.node("kube06")
    assert node["metadata"]["labels"]["role"] == "storage"
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "blade4"
    assert "node-role.kubernetes.io/control-plane" not in node["metadata"]["labels"]
    assert {"key": "dedicated", "value": "storage", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert w.ready("kube06")["status"] == "True"
    assert {a["address"] for a in node["status"]["addresses"]} == {"192.168.1.126", "kube06"}
    w.run(10)
    exporters = [
        p
        for p in w.pods("monitoring", "kube-prometheus-stack-prometheus-node-exporter")
        if p["spec"].get("nodeName") == "kube06"
    ]
    assert len(exporters) == 1  # daemon pods follow the new node (node-exporter tolerates NoSchedule)


def test_guest_agent_server_install_adds_control_plane_labels():
    w = _world_with_spare_vm()
    w.pve.qemu_agent_exec(
        "blade4",
        106,
        _sh(
            f"curl -sfL https://get.k3s.io | K3S_TOKEN={_token(w).rpartition(':')[2]} "
            f"sh -s - server --server {SERVER}"
        ),
        w.now,
    )
    w.run(2)
    labels = w.node("kube06")["metadata"]["labels"]
    assert labels["node-role.kubernetes.io/control-plane"] == "true"
    assert labels["node-role.kubernetes.io/etcd"] == "true"


def test_systemctl_tells_whether_k3s_runs():
    w = World()
    pid = w.pve.qemu_agent_exec("blade1", 101, ["systemctl", "is-active", "k3s"], w.now)["pid"]
    w.run(2)
    assert w.pve.qemu_agent_exec_status("blade1", 101, pid, w.now)["out-data"] == "active\n"
    pid = w.pve.qemu_agent_exec("blade1", 101, ["systemctl", "is-active", "k3s-agent"], w.now)["pid"]
    w.run(2)
    assert w.pve.qemu_agent_exec_status("blade1", 101, pid, w.now)["exitcode"] == 3


def test_bootstrap_from_bare_vms_first_server_sets_the_token_the_others_join_with():
    scenario = homelab(workloads="none")
    bare = [v.model_copy(update={"k3s": None}) for v in scenario.vms]
    w = World(scenario.model_copy(update={"vms": bare}))
    assert w.store.list(NODE) == [] and w.k8s.k3s_token is None

    def run(blade: str, vmid: int, command: list[str]) -> dict:
        pid = w.pve.qemu_agent_exec(blade, vmid, command, w.now)["pid"]
        w.run(2)
        return w.pve.qemu_agent_exec_status(blade, vmid, pid, w.now)

    first = run("blade1", 101, _sh("curl -sfL https://get.k3s.io | sh -s - server --cluster-init"))
    assert first["exitcode"] == 0
    token = run("blade1", 101, ["cat", "/var/lib/rancher/k3s/server/node-token"])["out-data"].strip()
    url = "https://192.168.1.121:6443"
    run("blade2", 102, _sh(f"curl -sfL https://get.k3s.io | K3S_TOKEN={token} sh -s - server --server {url}"))
    run("blade4", 104, _sh(f"curl -sfL https://get.k3s.io | K3S_URL={url} K3S_TOKEN={token} sh -"))
    w.run(10)
    assert {n["metadata"]["name"] for n in w.store.list(NODE)} == {"kube01", "kube02", "kube04"}
    assert all(w.ready(n)["status"] == "True" for n in ("kube01", "kube02", "kube04"))
    assert "node-role.kubernetes.io/etcd" not in w.node("kube04")["metadata"]["labels"]
