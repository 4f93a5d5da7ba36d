"""`restore BLADE [--migrate-back]` after a drain, on the lab."""

from __future__ import annotations

from kubernetes import client, config

from commands.drain import drain
from commands.restore import restore
from commands.result import DONE, REFUSED

from .opsctx import lab_context


async def test_restore_with_migrate_back_puts_vms_home_and_clears_everything(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    result = await restore(ctx, "blade3", migrate_back=True)
    assert result.code == DONE, result.text
    snap = await ctx.snapshot()
    assert sorted(vm.name for vm in snap.vms_on("blade3") if vm.running) == ["kube03", "kube05"]
    assert "noout" not in snap.ceph.flags
    assert not any(n.unschedulable for n in snap.nodes.values())
    assert not any("drewburr.io/maintenance" in n.annotations for n in snap.nodes.values())
    assert await ctx.journal.maintenance() == [] and await ctx.journal.locks() == {}


async def test_restore_without_migrate_back_leaves_vms_where_they_are(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert (await restore(ctx, "blade3")).code == DONE
    snap = await ctx.snapshot()
    assert [vm.name for vm in snap.vms_on("blade3") if vm.running] == []
    assert not any(n.unschedulable for n in snap.nodes.values()) and "noout" not in snap.ceph.flags
    assert not any("drewburr.io/maintenance" in n.annotations for n in snap.nodes.values())
    assert await ctx.journal.maintenance() == [] and await ctx.journal.locks() == {}


async def test_noout_stays_until_the_last_blade_leaves_maintenance(running_lab):
    ctx = lab_context(running_lab, allow_more_maintenance=True)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert (await drain(ctx, "blade2", yes=True)).code == DONE
    assert (await restore(ctx, "blade3")).code == DONE
    assert "noout" in (await ctx.snapshot()).ceph.flags
    assert (await restore(ctx, "blade2")).code == DONE
    assert "noout" not in (await ctx.snapshot()).ceph.flags


async def test_a_node_cordoned_before_the_drain_stays_cordoned(running_lab):
    ctx = lab_context(running_lab)
    await ctx.k8s.cordon("kube05")
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert (await restore(ctx, "blade3")).code == DONE
    snap = await ctx.snapshot()
    assert snap.nodes["kube05"].unschedulable and not snap.nodes["kube03"].unschedulable


async def test_restore_of_an_unknown_blade_is_refused(running_lab):
    result = await restore(lab_context(running_lab), "nope")
    assert result.code == REFUSED and "blade1, blade2, blade3, blade4" in result.text


async def test_restore_completes_when_a_drained_node_was_deleted_meanwhile(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    kube = config.new_client_from_config(str(running_lab.workdir / "kubeconfig"))
    client.CoreV1Api(kube).delete_node("kube05")  # rebuilt during the maintenance, say
    result = await restore(ctx, "blade3")
    assert result.code == DONE, result.text
    assert "gone from Kubernetes: kube05" in result.operation.step("uncordon").message
    assert not (await ctx.snapshot()).nodes["kube03"].unschedulable
