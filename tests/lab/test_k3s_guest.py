"""K3s in the guests, through proxmoxer, the kubernetes client and kubectl: joins with a right and
a wrong token or server, uninstall, and etcd quorum taking the Kubernetes API down and back."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from kubernetes import client, config
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.kube import kubeconfig
from tests.lab.pve_client import proxmox, wait_for
from tests.lab.test_lab_up import lab_up
from tests.unit.lab.k8s_world import homelab, with_spares

SERVER = "https://192.168.1.121:6443"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[RunningLab]:
    """The homelab without workloads, plus two VMs with no K3s yet (kube06, kube07)."""
    with RunningLab(tmp_path / "lab", with_spares(homelab(workloads="none"), 2), 100) as running:
        yield running


@pytest.fixture
def pve(lab: RunningLab) -> ProxmoxAPI:
    return proxmox(lab)


@pytest.fixture
def v1(lab: RunningLab) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig(lab))))


def _exec(pve: ProxmoxAPI, node: str, vmid: int, command: list[str]) -> int:
    return pve.nodes(node).qemu(vmid).agent.exec.post(command=command)["pid"]


def _status(pve: ProxmoxAPI, node: str, vmid: int, pid: int) -> dict:
    return pve.nodes(node).qemu(vmid).agent("exec-status").get(pid=pid)


def _run(pve: ProxmoxAPI, node: str, vmid: int, command: list[str]) -> dict:
    pid = _exec(pve, node, vmid, command)
    return wait_for(lambda: (r := _status(pve, node, vmid, pid))["exited"] and r, 10, " ".join(command))


def _nodes(v1: client.CoreV1Api) -> set[str]:
    return {n.metadata.name for n in v1.list_node().items}


def test_right_token_joins_a_wrong_one_or_a_dead_server_does_not(
    pve: ProxmoxAPI, v1: client.CoreV1Api
) -> None:
    token = _run(pve, "blade1", 101, ["cat", "/var/lib/rancher/k3s/server/node-token"])["out-data"].strip()
    bad = _exec(
        pve,
        "blade4",
        107,
        [
            "sh",
            "-c",
            f"curl -sfL https://get.k3s.io | K3S_URL=https://10.99.99.99:6443 K3S_TOKEN={token} sh -",
        ],
    )
    wrong = _run(
        pve,
        "blade4",
        106,
        ["sh", "-c", f"curl -sfL https://get.k3s.io | K3S_URL={SERVER} K3S_TOKEN=not-the-token sh -"],
    )
    assert wrong["exitcode"] == 0  # K3s is ready before the server refuses the secret: no Node comes
    good = _run(pve, "blade1", 101, ["sh", "-c", "sleep 60"])  # let a minute of lab time pass
    assert good["exitcode"] == 0
    assert _status(pve, "blade4", 107, bad) == {"exited": 0}  # still waiting for a server that is not there
    assert _nodes(v1) == {"kube01", "kube02", "kube03", "kube04", "kube05"}
    journal = _run(pve, "blade4", 106, ["journalctl", "-u", "k3s-agent"])["out-data"]
    assert "401 Unauthorized" in journal
    _run(pve, "blade4", 106, ["/usr/local/bin/k3s-agent-uninstall.sh"])
    joined = _run(
        pve,
        "blade4",
        106,
        ["sh", "-c", f"curl -sfL https://get.k3s.io | K3S_URL={SERVER} K3S_TOKEN={token} sh -"],
    )
    assert joined["exitcode"] == 0
    wait_for(lambda: "kube06" in _nodes(v1), 5, "kube06 registered")
    wait_for(lambda: _ready(v1, "kube06") == "True", 5, "kube06 Ready")


def _ready(v1: client.CoreV1Api, name: str) -> str:
    return next(c.status for c in v1.read_node(name).status.conditions if c.type == "Ready")


def test_the_uninstall_scripts_exist_only_after_an_install(pve: ProxmoxAPI, v1: client.CoreV1Api) -> None:
    with pytest.raises(ResourceException) as caught:
        _exec(pve, "blade4", 106, ["/usr/local/bin/k3s-agent-uninstall.sh"])
    assert "No such file or directory" in str(caught.value)
    result = _run(pve, "blade3", 105, ["/usr/local/bin/k3s-agent-uninstall.sh"])
    assert result["exitcode"] == 0
    assert _run(pve, "blade3", 105, ["systemctl", "is-active", "k3s-agent"])["exitcode"] == 3
    # the Node stays (K3s does not delete it); it stops posting status
    wait_for(lambda: _ready(v1, "kube05") == "Unknown", 5, "kube05 Unknown")


def _power(lab: RunningLab, action: str, blade: str) -> None:
    lab.call(lambda: getattr(lab.lab.pve, action)(blade, lab.lab.clock.now()))


def _kubectl(lab: RunningLab, *args: str) -> subprocess.CompletedProcess[str]:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is not on PATH"
    return subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig(lab)), "--request-timeout", "10s", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_etcd_quorum_loss_fails_the_api_until_a_server_returns(lab: RunningLab, v1: client.CoreV1Api) -> None:
    readyz = f"{v1.api_client.configuration.host}/readyz"
    ca = v1.api_client.configuration.ssl_ca_cert
    assert requests.get(readyz, verify=ca, timeout=5).text == "ok"
    _power(lab, "power_off", "blade1")
    assert len(v1.list_node().items) == 5  # two of three members: still a quorum
    _power(lab, "power_off", "blade2")
    with pytest.raises(client.ApiException) as caught:
        v1.list_node()
    assert caught.value.status == 500
    assert json.loads(caught.value.body)["message"] == "etcdserver: request timed out"
    answer = requests.get(readyz, verify=ca, timeout=5)
    assert answer.status_code == 500 and "[-]etcd failed: reason withheld" in answer.text
    assert answer.text.endswith("readyz check failed\n")
    kubectl = _kubectl(lab, "get", "nodes")
    assert kubectl.returncode == 1 and "etcdserver: request timed out" in kubectl.stderr
    _power(lab, "power_on", "blade2")  # the blade boots, then the VM, then K3s: some lab minutes
    wait_for(lambda: requests.get(readyz, verify=ca, timeout=5).status_code == 200, 20, "quorum back")
    assert _kubectl(lab, "get", "nodes").returncode == 0
    assert "kube02" in _nodes(v1)


def test_the_bare_scenario_has_blades_and_the_template_but_no_k3s(tmp_path: Path) -> None:
    workdir, bare = tmp_path / "lab", Path(__file__).resolve().parents[2] / "lab" / "scenarios" / "bare.yaml"
    with lab_up(workdir, "--scenario", str(bare)) as proc:
        api = config.new_client_from_config(config_file=str(workdir / "kubeconfig"))
        assert client.CoreV1Api(api).list_node().items == []
        settings = yaml.safe_load((workdir / "drewburr.yaml").read_text())["proxmox"]
        host, port = settings["url"].removeprefix("https://").split(":")
        pve = ProxmoxAPI(
            host,
            port=int(port),
            user="root@pam",
            token_name="drewburr",
            token_value=settings["token_secret"],
            verify_ssl=settings["ca_file"],
        )
        guests = pve.cluster.resources.get(type="vm")
        assert [(g["vmid"], g["template"]) for g in guests] == [(9000, 1)]
        assert {n["node"] for n in pve.nodes.get()} == {"blade1", "blade2", "blade3", "blade4"}
    assert proc.returncode == 0
