"""`provision` on the lab, checked through proxmoxer and the kubernetes client: an agent and a
server join Ready on the blade the plan named, with the cloud-init PVE was sent; bad input is
refused before anything is created; a failed K3s join removes its VM."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from commands import dispatch
from commands.grammar import parse
from commands.provision import provision
from commands.result import DONE, FAILED, REFUSED
from infra.operations import run as ops
from infra.operations.provision_check import Ask, resolve
from tests.lab.pve_client import wait_task

from .opsctx import auditor_context, pve_client
from .provisionctx import ZONE, core, guest, keypair, lab, node_ready, provision_context


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    with lab(tmp_path_factory.mktemp("provision") / "lab") as running:
        yield running


async def test_an_agent_and_a_server_join_ready_on_their_blades(shared_lab, tmp_path: Path) -> None:
    _, public = keypair(tmp_path)
    ctx = provision_context(shared_lab, public)
    pve, v1 = pve_client(shared_lab), core(shared_lab)
    agent = await provision(ctx, Ask(name="kube06", ip="192.168.1.126/24", disk_gib=40), yes=True)
    assert agent.code == DONE, agent.text
    assert agent.operation is not None and agent.operation.phase == "Succeeded"
    blade = agent.operation.params["request"]["blade"]
    assert f"Provision kube06 (K3s agent) on {blade}" in agent.text  # the plan named it
    vm = guest(pve, "kube06")
    assert vm is not None and vm["node"] == blade and vm["status"] == "running"
    node = v1.read_node("kube06")
    assert node_ready(node) and node.metadata.labels[ZONE] == blade
    qemu = pve.nodes(blade).qemu(vm["vmid"])
    user = qemu.cloudinit.dump.get(type="user")
    assert "hostname: kube06\n" in user and "user: ubuntu\n" in user
    assert f"ssh_authorized_keys:\n  - {public}\n" in user  # PVE decoded what we encoded: the key itself
    assert unquote(qemu.config.get()["sshkeys"]).strip() == public
    network = qemu.cloudinit.dump.get(type="network")
    assert "address: '192.168.1.126'" in network and "gateway: '192.168.1.1'" in network
    assert "- '192.168.1.1'" in network and "- 'homelab.lan'" in network
    config = qemu.config.get()
    assert int(config["cores"]) == 4 and int(config["memory"]) == 4096
    assert "size=40G" in config["scsi0"] and "ceph-rbd:" in config["scsi0"]
    assert f"vm:{vm['vmid']}" in {r["sid"] for r in pve.cluster.ha.resources.get()}

    server = await provision(ctx, Ask(name="kube07", role="server", memory_mib=2048), yes=True)
    assert server.code == DONE, server.text
    placed = guest(pve, "kube07")
    assert placed is not None and placed["node"] == "blade4"  # the one blade with no K3s server
    node = v1.read_node("kube07")
    assert node_ready(node) and node.metadata.labels[ZONE] == "blade4"
    assert node.metadata.labels.get("node-role.kubernetes.io/control-plane") == "true"


@pytest.mark.parametrize(("ask", "options", "reason"), [
    (Ask(name="Kube_6"), {}, "'Kube_6' is not a DNS label"),
    (Ask(name="kube05"), {}, "kube05 is taken: there is a VM (VMID 105) of that name"),
    (Ask(name="kube09", ip="10.0.0.5/24"), {}, "--ip 10.0.0.5 is outside provision.subnet 192.168.1.0/24"),
    (Ask(name="kube09", ip="192.168.1.121/24"), {}, "--ip 192.168.1.121 is in use (node kube01)"),
    (Ask(name="kube09", memory_mib=64 * 1024), {}, "--memory 65536 MiB is more than any blade can hold"),
    (Ask(name="kube09"), {"template": "no-such-template"}, "no template 'no-such-template' in PVE"),
    (Ask(name="kube09", blade="blade9"), {}, "no blade for kube09: blade blade9 is unknown"),
    (Ask(name="kube09", role="server", blade="blade1"), {}, "servers go on distinct blades"),
])
async def test_bad_input_is_refused_before_anything_is_created(shared_lab, tmp_path: Path, ask: Ask,
                                                              options: dict, reason: str) -> None:
    ctx = provision_context(shared_lab, keypair(tmp_path)[1], **options)
    pve = pve_client(shared_lab)
    before = sorted(g["vmid"] for g in pve.cluster.resources.get(type="vm"))
    refused = await provision(ctx, ask, yes=True)
    assert refused.code == REFUSED and reason in refused.text, refused.text
    assert sorted(g["vmid"] for g in pve.cluster.resources.get(type="vm")) == before
    assert (await ctx.journal.list(1))[0].phase == "Refused"


def test_the_cli_refuses_with_exit_2(shared_lab) -> None:
    command = [sys.executable, "-m", "bot", "--config", str(shared_lab.config_file), "provision", "Kube_6",
               "--yes"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not a DNS label" in done.stdout + done.stderr


@pytest.mark.parametrize("role", ["agent", "server"])
async def test_a_join_with_a_wrong_token_removes_its_vm(tmp_path: Path, role: str) -> None:
    with lab(tmp_path / "lab") as running:
        ctx = provision_context(running, keypair(tmp_path)[1])
        ctx.provision = dataclasses.replace(ctx.provision, ha=True, k3s=dataclasses.replace(
            ctx.provision.k3s, token="not-the-token"))
        pve = pve_client(running)
        failed = await provision(ctx, Ask(name="kube06", role=role, memory_mib=1024), yes=True)
        assert failed.code == FAILED
        op = failed.operation
        assert op is not None and op.phase == "Failed"
        vmid = op.params["vm.kube06"]["vmid"]
        assert f"removed the half-made VM {vmid} (kube06) and its HA resource" in (op.last_error or "")
        assert guest(pve, "kube06") is None
        assert f"vm:{vmid}" not in {r["sid"] for r in pve.cluster.ha.resources.get()}
        assert "kube06" not in {n.metadata.name for n in core(running).list_node().items}


async def test_slack_words_show_the_plan_to_confirm_then_run_it(shared_lab, tmp_path: Path) -> None:
    ctx = provision_context(shared_lab, keypair(tmp_path)[1])
    text = "provision kube08 --memory=1024 --disk 16 --dhcp"
    request = parse(text)
    assert request.spec.permission == "admin"
    shown = await dispatch.preview(ctx, request, "U0456", "C123", text, now=ctx.clock())
    assert shown.confirmation is not None and "Provision kube08 (K3s agent) on" in shown.result.text
    assert guest(pve_client(shared_lab), "kube08") is None  # nothing until someone confirms
    done = await dispatch.confirmed(ctx, request, shown.confirmation, listener=None)
    assert done.code == DONE, done.text
    assert node_ready(core(shared_lab).read_node("kube08"))


async def test_a_vmid_taken_before_the_clone_makes_it_take_another(shared_lab, tmp_path: Path) -> None:
    """As if killed between choosing an ID and cloning, while someone else created a guest with it."""
    ctx = provision_context(shared_lab, keypair(tmp_path)[1])
    pve = pve_client(shared_lab)
    request = await resolve(ctx, Ask(name="kube10", memory_mib=1024, disk_gib=16))
    taken = int(pve.cluster.nextid.get())
    wait_task(pve, pve.nodes("blade3").qemu.post(vmid=taken, name="intruder", memory=512))
    op = await ops.create(ctx, "provision", "kube10", {"request": request.model_dump(),
                                                      "vm.kube10": {"blade": request.blade, "vmid": taken}})
    final = await ops.run(ctx, op.id)
    assert final.phase == "Succeeded", final.last_error
    made = guest(pve, "kube10")
    assert made is not None and made["vmid"] != taken and guest(pve, "intruder")["vmid"] == taken
    assert final.params["vm.kube10"]["vmid"] == made["vmid"]


async def test_a_token_without_the_privileges_is_refused_before_anything_is_created(shared_lab) -> None:
    ctx = auditor_context(shared_lab)  # PVEAuditor: it may look, not clone
    refused = await provision(ctx, Ask(name="kube11", memory_mib=1024), yes=True)
    assert refused.code == REFUSED, refused.text
    assert "missing privileges: PVE VM.Clone on /vms/9000" in refused.text
    assert "PVE Datastore.AllocateSpace on /storage/ceph-rbd" in refused.text
    assert guest(pve_client(shared_lab), "kube11") is None
