"""Our PVE gateway against the lab, through proxmoxer: reads, tasks, retries, TLS, errors."""

from __future__ import annotations

import logging

import pytest

from infra.errors import GatewayError, Unavailable
from infra.gateways.k8s import K8sGateway
from infra.gateways.pve import PveGateway
from infra.gather import gather
from lab.faults import apply_fault
from lab.scenario import BladeSpec, Scenario, VmSpec
from lab.tls import make_certificates
from tests.conftest import RunningLab
from tests.scenarios.opsctx import lab_context


def gateway(lab: RunningLab, **kwargs) -> PveGateway:
    options = {"ca_file": lab.ca_file, **kwargs}
    return PveGateway(lab.pve_url, "root@pam!drewburr", lab.server.token_secret, **options)


def fault(lab: RunningLab, name: str, target: str | None = None) -> None:
    lab.call(lambda: apply_fault(lab.lab, name, target, lab.lab.advance()))


def requests_seen(lab: RunningLab, method: str, suffix: str) -> int:
    return lab.call(lambda: lab.lab.recorder.count(method, suffix, "pve"))


async def test_snapshot_takes_a_fixed_number_of_calls_per_system(running_lab):
    pve, k8s = gateway(running_lab), K8sGateway(running_lab.workdir / "kubeconfig")
    snap = await gather(pve, k8s)
    assert sorted(snap.blades) == ["blade1", "blade2", "blade3", "blade4"]
    assert {vm.name: vm.blade for vm in snap.vms.values() if not vm.template} == {
        "kube01": "blade1", "kube02": "blade2", "kube03": "blade3", "kube04": "blade4", "kube05": "blade3"}
    assert snap.vms[105].ha_state is None and snap.vms[103].ha_state == "started"
    assert {o.host: o.id for o in snap.ceph.osds} == {"blade1": 0, "blade2": 1, "blade3": 2, "blade4": 3}
    assert sorted(n.name for n in snap.nodes.values() if n.server) == ["kube01", "kube02", "kube03"]
    assert snap.pve_quorate and snap.errors == [] and snap.mismatches == []
    assert (pve.calls, k8s.calls) == (7, 4)


async def test_a_task_result_is_read_on_the_upids_node_once_the_migration_ends(running_lab):
    pve = gateway(running_lab)
    upid = await pve.migrate_vm("blade3", 105, "blade4", online=True)
    assert upid.startswith("UPID:blade3:") and ":qmigrate:105:" in upid
    ctx = lab_context(running_lab)
    result = await ctx.poll_until(lambda: pve.task_result(upid), 30, f"task {upid}", interval=0.1)
    assert result.ok and result.node == "blade3"
    placed = {e.vmid: e.node for e in await pve.resources(type="vm")}
    assert placed[105] == "blade4"


async def test_ha_vm_migration_is_a_hamigrate_task_that_ends_early(running_lab):
    pve = gateway(running_lab)
    upid = await pve.migrate_vm("blade3", 103, "blade4")
    assert ":hamigrate:103:" in upid
    ended = await lab_context(running_lab).poll_until(lambda: pve.task_result(upid), 30, upid, interval=0.1)
    assert ended.ok


async def test_reads_are_retried_through_flaky_answers_but_writes_are_not(running_lab):
    pve = gateway(running_lab)
    fault(running_lab, "flaky-api", "1:595")
    with pytest.raises(Unavailable):
        await pve.version()
    assert requests_seen(running_lab, "GET", "/version") == pve.caller.attempts
    with pytest.raises(Unavailable):
        await pve.node_command("blade4", "reboot")
    assert requests_seen(running_lab, "POST", "/nodes/blade4/status") == 1
    fault(running_lab, "flaky-api", "0.5:500")
    for _ in range(5):
        assert (await pve.version())["version"]


async def test_a_parameter_error_names_the_field(running_lab):
    with pytest.raises(GatewayError) as caught:
        await gateway(running_lab).post("nodes/blade3/qemu/105/migrate", target="blade4", online="maybe")
    assert caught.value.status == 400 and "online" in caught.value.detail


async def test_a_bad_token_is_refused_and_the_secret_never_shows(running_lab):
    pve = PveGateway(running_lab.pve_url, "root@pam!drewburr", "wrong-secret", ca_file=running_lab.ca_file)
    with pytest.raises(GatewayError) as caught:
        await pve.version()
    assert caught.value.status == 401 and "wrong-secret" not in str(caught.value)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_tls_is_verified_against_the_ca_file(running_lab, tmp_path, caplog):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(make_certificates().ca_pem)  # a CA that did not sign the lab's certificate
    with pytest.raises(GatewayError, match=r"TLS verification failed.*; check proxmox\.ca_file") as caught:
        await gateway(running_lab, ca_file=other_ca).version()
    assert not isinstance(caught.value, Unavailable)  # not transient: retrying will not help
    with caplog.at_level(logging.WARNING):
        unverified = gateway(running_lab, ca_file=None, verify_tls=False)
    assert "TLS verification" in caplog.text
    assert (await unverified.version())["version"]


async def test_the_token_secret_never_reaches_our_logs_or_error_messages(running_lab, caplog):
    secret = running_lab.server.token_secret
    with caplog.at_level(logging.DEBUG):
        good = gateway(running_lab)
        fault(running_lab, "flaky-api", "1:595")
        with pytest.raises(Unavailable) as flaky:
            await good.version()
        fault(running_lab, "api-ok", "-")
        bad = PveGateway(running_lab.pve_url, "root@pam!drewburr", secret + "x", ca_file=running_lab.ca_file)
        with pytest.raises(GatewayError) as refused:
            await bad.version()
    assert refused.value.status == 401
    for text in (caplog.text, str(flaky.value), str(refused.value)):
        assert secret not in text


async def test_a_bigger_homelab_costs_the_same_calls_per_snapshot(tmp_path):
    """16 blades and 64 VMs (with their K8s nodes and pods): still 6 PVE and 4 Kubernetes calls."""
    blades = [BladeSpec(name=f"blade{i}", memory_gib=64, mon=i <= 3) for i in range(1, 17)]
    vms = [VmSpec(vmid=100 + n, name=f"kube{n:02d}", blade=f"blade{n % 16 + 1}", memory_gib=2,
                  k3s="server" if n < 3 else "agent", ha=True) for n in range(64)]
    with RunningLab(tmp_path / "lab", Scenario(name="big", blades=blades, vms=vms, workloads="none"),
                    time_scale=50) as big:
        pve, k8s = gateway(big), K8sGateway(big.workdir / "kubeconfig")
        snap = await gather(pve, k8s)
        assert len(snap.blades) == 16 and len(snap.vms) == 64 and len(snap.nodes) == 64
        assert (pve.calls, k8s.calls) == (7, 4)
