"""`reboot BLADE` and `reboot all` on the lab."""

from __future__ import annotations

from commands.reboot import reboot
from commands.result import DONE, FAILED

from .opsctx import fault, lab_context, move_vm, pve_client


async def test_reboot_blade3_ends_healthy_with_no_cordon_left(running_lab):
    ctx = lab_context(running_lab)
    result = await reboot(ctx, "blade3", yes=True)
    assert result.code == DONE, result.text
    op = result.operation
    assert op.step("wait-online").outcome == "done" and op.step("wait-ceph").outcome == "done"
    snap = await ctx.snapshot()
    assert snap.ceph.health == "HEALTH_OK" and snap.ceph.flags == []
    assert not any(n.unschedulable for n in snap.nodes.values())
    assert not any("drewburr.io/maintenance" in n.annotations for n in snap.nodes.values())
    assert await ctx.journal.maintenance() == [] and await ctx.journal.locks() == {}
    assert sorted(vm.name for vm in snap.vms_on("blade3") if vm.running) == ["kube03", "kube05"]
    uptime = {e["node"]: e.get("uptime", 0) for e in await ctx.pve.cluster_resources(type="node")}
    assert uptime["blade3"] < uptime["blade1"]  # it really rebooted


async def test_reboot_all_stops_at_the_first_failure(running_lab):
    fault(running_lab, "hold-lock", "102:backup")  # kube02 cannot leave blade2
    ctx = lab_context(running_lab)
    result = await reboot(ctx, "all", yes=True)
    assert result.code == FAILED
    op = result.operation
    assert op.step("blade1/restore:clear").outcome == "done"
    assert op.step("blade2/drain:migrate").outcome == "failed" and "102" in op.last_error
    assert op.step("blade3/drain:plan").outcome == "pending"
    untouched = (await ctx.snapshot()).vms_on("blade3")
    assert sorted(vm.name for vm in untouched if vm.running) == ["kube03", "kube05"]  # nothing ran after it


async def test_reboot_refuses_when_a_vm_came_back_to_the_blade_after_the_drain(running_lab):
    pve = pve_client(running_lab)

    async def kube04_arrives(op, step) -> None:
        if step.name == "drain:mark" and step.outcome == "done":
            move_vm(pve, 104, "blade4", "blade3")

    ctx = lab_context(running_lab)
    result = await reboot(ctx, "blade3", yes=True, listener=kube04_arrives)
    assert result.code == FAILED
    error = result.operation.last_error
    assert "refusing to reboot blade3" in error and "kube04" in error
    uptime = {e["node"]: e.get("uptime", 0) for e in await ctx.pve.cluster_resources(type="node")}
    assert uptime["blade3"] >= uptime["blade1"] - 5  # never rebooted
    vm = next(e for e in await ctx.pve.cluster_resources(type="vm") if e["vmid"] == 104)
    assert vm["node"] == "blade3" and vm["status"] == "running"
