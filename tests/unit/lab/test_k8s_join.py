"""Joining K3s through the guest agent: the install script's and K3s' parsing (pure), then joins
in a lab on a manual clock: timing, failures as K3s fails, uninstall, etcd quorum."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from lab.k8s import etcd
from lab.k8s.controllers.base import NODE
from lab.k8s.join import FlagError, InstallFailed, parse_flags, parse_install
from tests.unit.lab.k8s_world import World, homelab, running_ready, with_spares

SERVER = "https://192.168.1.121:6443"
INSTALL = "curl -sfL https://get.k3s.io | "


def test_the_role_is_the_first_exec_word_else_agent_with_k3s_url_else_server():
    assert parse_install([], {"INSTALL_K3S_EXEC": "agent --node-label a=b"}) == (
        "agent",
        ["--node-label", "a=b"],
    )
    assert parse_install(["--cluster-init"], {}) == ("server", ["--cluster-init"])
    assert parse_install([], {"K3S_URL": SERVER, "K3S_TOKEN": "t"}) == ("agent", [])
    assert parse_install(["--disable=traefik"], {"INSTALL_K3S_EXEC": "server"}) == (
        "server",
        ["--disable=traefik"],
    )


def test_the_script_refuses_what_its_setup_env_refuses():
    with pytest.raises(
        InstallFailed,
        match=re.escape(
            "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but "
            "K3S_TOKEN or K3S_TOKEN_FILE is not defined."
        ),
    ):
        parse_install([], {"K3S_URL": SERVER})
    with pytest.raises(InstallFailed, match="Only https:// URLs are supported for K3S_URL"):
        parse_install([], {"K3S_URL": "http://x:6443", "K3S_TOKEN": "t"})


def test_server_flags_are_parsed_as_k3s_reads_them():
    join = parse_flags(
        "server",
        [
            "--cluster-init",
            "--disable=traefik,servicelb",
            "--tls-san",
            "k3s.lab",
            "--node-label",
            "tier=gpu",
            "--node-taint=dedicated=gpu:NoSchedule",
            "--etcd-expose-metrics",
            "--write-kubeconfig-mode",
            "644",
            "-t",
            "secret",
            "--node-name=edge1",
        ],
        {},
    )
    assert join.cluster_init and join.etcd_expose_metrics and join.kubeconfig_mode == "644"
    assert join.disable == ["traefik", "servicelb"] and join.tls_san == ["k3s.lab"]
    assert join.labels == {"tier": "gpu"} and join.node_name == "edge1" and join.token == "secret"
    assert join.taints == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    assert "secret" not in join.node_args() and "********" in join.node_args()


def test_environment_gives_server_url_token_and_node_name():
    join = parse_flags("agent", [], {"K3S_URL": SERVER, "K3S_TOKEN": "t", "K3S_NODE_NAME": "n1"})
    assert (join.server_url, join.token, join.node_name) == (SERVER, "t", "n1")


@pytest.mark.parametrize(
    ("role", "words", "message"),
    [
        ("agent", ["--cluster-init"], "flag provided but not defined: -cluster-init"),
        ("server", ["--bogus"], "flag provided but not defined: -bogus"),
        ("server", ["--node-label"], "flag needs an argument: -node-label"),
        ("agent", ["--node-taint", "gpu"], "failed to parse taints: invalid taint spec: gpu"),
        (
            "agent",
            ["--node-taint", "a=b:Sometimes"],
            "failed to parse taints: invalid taint spec: a=b:Sometimes",
        ),
    ],
)
def test_k3s_refuses_flags_it_does_not_know_or_cannot_parse(role, words, message):
    with pytest.raises(FlagError, match=re.escape(message)):
        parse_flags(role, words, {})


# --- joins in a lab on a manual clock ---------------------------------------------------------------


def _world(spares: int = 1, **kw: Any) -> World:
    return World(with_spares(homelab(**kw), spares))


def _start(w: World, vmid: int, script: str, blade: str = "blade4") -> int:
    return w.pve.qemu_agent_exec(blade, vmid, ["sh", "-c", script], w.now)["pid"]


def _status(w: World, vmid: int, pid: int, blade: str = "blade4") -> dict:
    return w.pve.qemu_agent_exec_status(blade, vmid, pid, w.now)


def _run(w: World, vmid: int, argv: list[str], blade: str = "blade4", wait: float = 2) -> dict:
    pid = w.pve.qemu_agent_exec(blade, vmid, argv, w.now)["pid"]
    w.run(wait)
    return _status(w, vmid, pid, blade)


def _token(w: World) -> str:
    return _run(w, 101, ["cat", "/var/lib/rancher/k3s/server/node-token"], "blade1")["out-data"].strip()


def test_an_agent_join_takes_lab_time_registers_not_ready_then_turns_ready():
    w = _world()
    pid = _start(w, 106, f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN={_token(w)} sh -s - --node-label role=edge")
    w.run(5)
    assert _status(w, 106, pid) == {"exited": 0}  # still downloading
    w.run(15)
    done = _status(w, 106, pid)
    assert done["exitcode"] == 0 and done["out-data"].endswith("[INFO]  systemd: Starting k3s-agent\n")
    w.run(5)
    ready = w.ready("kube06")
    assert (ready["status"], ready["reason"]) == ("False", "KubeletNotReady")
    assert "cni plugin not initialized" in ready["message"]
    w.run(15)
    assert w.ready("kube06")["status"] == "True"
    labels = w.node("kube06")["metadata"]["labels"]
    assert labels["role"] == "edge" and "topology.kubernetes.io/zone" not in labels  # K3s sets no zone


def test_an_agent_that_cannot_reach_its_server_never_finishes_installing_nor_joins():
    w = _world()
    pid = _start(w, 106, f"{INSTALL}K3S_URL=https://10.99.99.99:6443 K3S_TOKEN={_token(w)} sh -")
    w.run(120, step=5)
    assert _status(w, 106, pid) == {"exited": 0}  # systemctl waits for READY=1, TimeoutStartSec=0
    assert w.store.find(NODE, "", "kube06") is None
    active = _run(w, 106, ["systemctl", "is-active", "k3s-agent"])
    assert (active["exitcode"], active["out-data"]) == (3, "activating\n")
    journal = _run(w, 106, ["journalctl", "-u", "k3s-agent", "--no-pager"])["out-data"]
    assert (
        'level=error msg="Failed to validate connection to cluster at https://10.99.99.99:6443: '
        'failed to get CA certs: Get \\"https://10.99.99.99:6443/cacerts\\"'
    ) in journal


def test_an_agent_with_a_wrong_secret_installs_but_never_registers():
    w = _world()
    pid = _start(w, 106, f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN=wrong sh -")
    w.run(60, step=2)
    assert _status(w, 106, pid)["exitcode"] == 0  # READY=1 comes before the 401s
    assert w.store.find(NODE, "", "kube06") is None
    journal = _run(w, 106, ["journalctl", "-u", "k3s-agent"])["out-data"]
    assert "Waiting to retrieve agent configuration; server is not ready" in journal
    assert "v1-k3s/config: 401 Unauthorized" in journal


def test_an_agent_with_another_clusters_token_fails_the_ca_hash_check():
    w = _world()
    other = "K10" + "0" * 64 + "::server:" + _token(w).rpartition(":")[2]
    pid = _start(w, 106, f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN={other} sh -")
    w.run(60, step=2)
    assert _status(w, 106, pid) == {"exited": 0}
    journal = _run(w, 106, ["journalctl", "-u", "k3s-agent"])["out-data"]
    assert "token CA hash does not match the Cluster CA certificate hash: " + "0" * 64 in journal


@pytest.mark.parametrize(
    ("url", "token", "error"),
    [
        ("https://10.99.99.99:6443", None, "failed to get CA certs"),
        (SERVER, "wrong", "v1-k3s/server-bootstrap: 401 Unauthorized"),
        (
            "https://192.168.1.125:6443",
            None,
            "dial tcp 192.168.1.125:6443: connect: connection refused",
        ),  # kube05
    ],
)
def test_a_server_that_cannot_join_fails_its_unit_and_the_script(url, token, error):
    w = _world()
    pid = _start(w, 106, f"{INSTALL}K3S_TOKEN={token or _token(w)} sh -s - server --server {url}")
    w.run(20)
    result = _status(w, 106, pid)
    assert result["exitcode"] == 1
    assert result["err-data"].startswith("Job for k3s.service failed because the control process exited")
    journal = _run(w, 106, ["journalctl", "-xeu", "k3s.service"])["out-data"]
    assert "level=fatal" in journal and error in journal
    assert "k3s.service: Failed with result 'exit-code'." in journal
    w.run(60, step=5)
    assert w.store.find(NODE, "", "kube06") is None
    assert (
        _run(w, 106, ["ls", "/usr/local/bin/k3s-uninstall.sh"])["exitcode"] == 0
    )  # the script made it first


def test_a_bad_flag_fails_the_unit_at_once():
    w = _world()
    pid = _start(w, 106, f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN={_token(w)} sh -s - agent --cluster-init")
    w.run(20)
    assert _status(w, 106, pid)["exitcode"] == 1
    assert (
        "flag provided but not defined: -cluster-init"
        in _run(w, 106, ["journalctl", "-u", "k3s-agent"])["out-data"]
    )


def test_uninstall_stops_k3s_the_node_goes_unknown_and_the_script_is_gone():
    w = _world(spares=0)
    result = _run(w, 105, ["/usr/local/bin/k3s-agent-uninstall.sh"], "blade3", wait=10)
    assert result["exitcode"] == 0 and "+ rm -f /usr/local/bin/k3s" in result["err-data"]
    again = _run(w, 105, ["sh", "-c", "/usr/local/bin/k3s-agent-uninstall.sh"], "blade3")
    assert (again["exitcode"], again["err-data"]) == (
        127,
        "sh: 1: /usr/local/bin/k3s-agent-uninstall.sh: not found\n",
    )
    assert _run(w, 105, ["systemctl", "is-active", "k3s-agent"], "blade3")["out-data"] == "inactive\n"
    w.run(60)
    # K3s does not delete its Node: it stays, and stops posting status
    assert w.ready("kube05")["reason"] == "NodeStatusUnknown"


def test_a_new_cluster_from_bare_vms_the_first_server_sets_the_token():
    scenario = homelab(workloads="none")
    bare = [v.model_copy(update={"k3s": None}) for v in scenario.vms]
    w = World(scenario.model_copy(update={"vms": bare}))
    assert w.store.list(NODE) == [] and w.k8s.k3s_token is None
    assert _run(w, 101, ["sh", "-c", "k3s --version"], "blade1")["err-data"] == "sh: 1: k3s: not found\n"
    first = _run(
        w,
        101,
        ["sh", "-c", f"{INSTALL}sh -s - server --cluster-init --tls-san k3s.lab --disable=traefik"],
        "blade1",
        40,
    )
    assert first["exitcode"] == 0
    token = _run(w, 101, ["cat", "/var/lib/rancher/k3s/server/node-token"], "blade1")["out-data"].strip()
    _start(w, 102, f"{INSTALL}K3S_TOKEN={token} sh -s - server --server {SERVER}", "blade2")
    _start(w, 104, f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN={token} sh -", "blade4")
    w.run(60)
    assert {n["metadata"]["name"] for n in w.store.list(NODE)} == {"kube01", "kube02", "kube04"}
    assert all(w.ready(n)["status"] == "True" for n in ("kube01", "kube02", "kube04"))
    assert "node-role.kubernetes.io/etcd" not in w.node("kube04")["metadata"]["labels"]
    table = _run(w, 101, ["k3s", "kubectl", "get", "nodes"], "blade1")["out-data"].splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [row.split()[:3] for row in table[1:]] == [
        ["kube01", "Ready", "control-plane,etcd,master"],
        ["kube02", "Ready", "control-plane,etcd,master"],
        ["kube04", "Ready", "<none>"],
    ]
    names = _run(w, 101, ["kubectl", "get", "nodes", "-o", "name"], "blade1")["out-data"]
    assert names == "node/kube01\nnode/kube02\nnode/kube04\n"
    one = json.loads(
        _run(w, 101, ["k3s", "kubectl", "get", "node", "kube04", "-ojson"], "blade1")["out-data"]
    )
    assert (one["kind"], one["metadata"]["name"]) == ("Node", "kube04")
    # K3s' packaged components came with the first server, less what it was told to disable
    system = {p["metadata"]["name"].rsplit("-", 2)[0] for p in w.pods("kube-system") if running_ready(p)}
    assert system == {"coredns", "local-path-provisioner", "metrics-server"}
    agent_kubectl = _run(w, 104, ["k3s", "kubectl", "get", "nodes"], "blade4")
    assert agent_kubectl["exitcode"] == 1 and "localhost:8080 was refused" in agent_kubectl["err-data"]


def test_etcd_quorum_two_of_three_servers_down_stops_the_control_plane_until_one_returns():
    w = World(homelab(workloads="none"))
    assert etcd.quorate(w.k8s, w.now)
    w.pve.power_off("blade1", w.now)
    w.run(5)
    assert etcd.quorate(w.k8s, w.now)  # 2 of 3
    w.pve.power_off("blade2", w.now)
    w.run(120, step=5)
    assert not etcd.quorate(w.k8s, w.now)
    # nothing observes the dead nodes: no controller can write without etcd
    assert w.ready("kube01")["status"] == "True"
    kubectl = _run(w, 103, ["k3s", "kubectl", "get", "nodes"], "blade3")
    assert (kubectl["exitcode"], kubectl["err-data"]) == (
        1,
        "Error from server: etcdserver: request timed out\n",
    )
    w.pve.power_on("blade2", w.now)
    w.run(200, step=5)
    assert etcd.quorate(w.k8s, w.now)
    assert w.ready("kube02")["status"] == "True"
    assert w.ready("kube01")["status"] == "Unknown"


def test_an_uninstalled_server_stays_an_etcd_member_until_its_node_is_deleted():
    w = World(homelab(workloads="none"))
    for vmid, blade in ((102, "blade2"), (103, "blade3")):
        _run(w, vmid, ["k3s-uninstall.sh"], blade, wait=10)
    assert not etcd.quorate(w.k8s, w.now)  # 1 of 3 members runs
    w.store.remove(NODE, "", "kube02")
    w.store.remove(NODE, "", "kube03")
    assert etcd.quorate(w.k8s, w.now)  # K3s removed the members with their nodes


def test_an_install_script_written_with_file_write_or_saved_by_curl_runs_with_sh():
    w = _world(spares=2)
    token = _token(w)
    script = f"#!/bin/sh\nset -e\n{INSTALL}K3S_URL={SERVER} K3S_TOKEN={token} sh -s - agent\n"
    w.pve.qemu_agent_file_write("blade4", 106, "/root/join.sh", script, w.now)
    assert _run(w, 106, ["sh", "/root/join.sh"], wait=30)["exitcode"] == 0
    saved = (
        f"curl -sfL https://get.k3s.io -o /tmp/k3s.sh && K3S_URL={SERVER} K3S_TOKEN={token} sh /tmp/k3s.sh"
    )
    assert _run(w, 107, ["sh", "-c", saved], wait=30)["exitcode"] == 0
    w.run(30)
    assert w.ready("kube06")["status"] == w.ready("kube07")["status"] == "True"
    status = _run(w, 106, ["systemctl", "status", "k3s-agent"])
    assert status["exitcode"] == 0
    text = status["out-data"].encode("latin-1").decode()  # PVE passes the guest's bytes, not UTF-8 text
    assert text.startswith("● k3s-agent.service - Lightweight Kubernetes\n")
    assert "Active: active (running) since " in text


def test_an_agent_started_before_its_server_joins_once_the_server_answers():
    scenario = homelab(workloads="none")
    w = World(scenario.model_copy(update={"vms": [v.model_copy(update={"k3s": None}) for v in scenario.vms]}))
    agent = _start(w, 104, f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN=s3cret sh -")
    early = _start(w, 102, f"{INSTALL}K3S_TOKEN=s3cret sh -s - server --server {SERVER}", "blade2")
    w.run(30)
    assert _status(w, 102, early, "blade2")["exitcode"] == 1  # Job for k3s.service failed; systemd retries
    assert _status(w, 104, agent) == {"exited": 0}
    journal = _run(w, 104, ["journalctl", "-u", "k3s-agent"])["out-data"]
    assert "dial tcp 192.168.1.121:6443: connect: connection refused" in journal  # kube01 runs, K3s does not
    server = _run(
        w, 101, ["sh", "-c", f"{INSTALL}K3S_TOKEN=s3cret sh -s - server --cluster-init"], "blade1", 40
    )
    assert server["exitcode"] == 0
    w.run(45)
    done = _status(w, 104, agent)
    assert done["exited"] == 1 and done["exitcode"] == 0
    assert w.ready("kube04")["status"] == "True"
    assert w.ready("kube02")["status"] == "True"  # a later restart of the server got through
    token = _run(w, 102, ["cat", "/var/lib/rancher/k3s/server/node-token"], "blade2")["out-data"]
    assert token.startswith("K10") and token.strip().endswith("::server:s3cret")
    journal = _run(w, 104, ["journalctl", "-u", "k3s-agent"])["out-data"]
    assert "connection refused" in journal and "Started k3s-agent.service" in journal


def test_the_token_can_come_from_a_file_written_through_the_agent():
    w = _world(spares=2)
    w.pve.qemu_agent_file_write("blade4", 106, "/root/token", _token(w) + "\n", w.now)
    assert (
        _run(w, 106, ["sh", "-c", f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN_FILE=/root/token sh -"], wait=30)[
            "exitcode"
        ]
        == 0
    )
    failed = _start(w, 107, f"{INSTALL}K3S_URL={SERVER} K3S_TOKEN_FILE=/root/none sh -")
    w.run(40)
    assert _status(w, 107, failed)["exitcode"] == 1
    assert w.ready("kube06")["status"] == "True" and w.store.find(NODE, "", "kube07") is None
