"""`restore BLADE [--stay]` after a drain, on the lab: VMs come home unless --stay, and their
home is never forgotten."""

from __future__ import annotations

from kubernetes import client, config

from commands.drain import drain
from commands.reboot import reboot
from commands.restore import restore
from commands.result import DONE, REFUSED
from commands.status import status

from .opsctx import lab_context, pve_client


def placed(snap) -> dict[str, str]:
    return {vm.name: vm.blade for vm in snap.vms.values() if vm.running}


async def test_restore_puts_vms_home_and_clears_everything(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    result = await restore(ctx, "blade3", yes=True)
    assert result.code == DONE, result.text
    snap = await ctx.snapshot()
    assert sorted(vm.name for vm in snap.vms_on("blade3") if vm.running) == ["kube03", "kube05"]
    assert "noout" not in snap.ceph.flags
    assert not any(n.unschedulable for n in snap.nodes.values())
    assert not any("drewburr.io/maintenance" in n.annotations for n in snap.nodes.values())
    assert await ctx.journal.maintenance() == [] and await ctx.journal.locks() == {}
    assert await ctx.journal.homes() == {} and snap.moved == [] and snap.mismatches == []


async def test_restore_stay_keeps_vms_away_and_remembers_their_home(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert (await restore(ctx, "blade3", stay=True, yes=True)).code == DONE
    snap = await ctx.snapshot()
    assert [vm.name for vm in snap.vms_on("blade3") if vm.running] == []
    assert not any(n.unschedulable for n in snap.nodes.values()) and "noout" not in snap.ceph.flags
    assert await ctx.journal.maintenance() == [] and await ctx.journal.locks() == {}
    # status explains the stale zone labels instead of warning forever
    assert snap.mismatches == [] and len(snap.moved) == 2
    assert all("`drewburr restore blade3` brings it home" in m for m in snap.moved)
    later = await restore(ctx, "blade3", yes=True)  # the memory of home survived the --stay
    assert later.code == DONE, later.text
    snap = await ctx.snapshot()
    assert sorted(vm.name for vm in snap.vms_on("blade3") if vm.running) == ["kube03", "kube05"]
    assert snap.moved == [] and snap.mismatches == [] and await ctx.journal.homes() == {}


async def test_a_reboot_of_the_blade_a_vm_stayed_on_sends_it_home(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert (await restore(ctx, "blade3", stay=True, yes=True)).code == DONE
    assert placed(await ctx.snapshot())["kube03"] == "blade4"
    result = await reboot(ctx, "blade4", yes=True)
    assert result.code == DONE, result.text
    where = placed(await ctx.snapshot())
    assert (where["kube03"], where["kube04"]) == ("blade3", "blade4"), where  # each to its own home


async def test_restore_of_a_blade_not_in_maintenance_is_refused(running_lab):
    ctx = lab_context(running_lab)
    result = await restore(ctx, "blade3", yes=True)
    assert result.code == REFUSED
    assert "blade3 is not in maintenance" in result.text
    assert await ctx.journal.list() == []  # nothing ran


async def test_restore_dry_run_and_no_answer_change_nothing(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    dry = await restore(ctx, "blade3", dry_run=True)
    assert dry.code == DONE and "kube03 (103): blade4 -> blade3" in dry.text
    assert (await restore(ctx, "blade3", confirm=lambda _: False)).code == REFUSED
    assert [m.blade for m in await ctx.journal.maintenance()] == ["blade3"]


async def test_noout_stays_until_the_last_blade_leaves_maintenance(running_lab):
    ctx = lab_context(running_lab, allow_more_maintenance=True)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert (await drain(ctx, "blade2", yes=True)).code == DONE
    assert (await restore(ctx, "blade3", yes=True)).code == DONE
    assert "noout" in (await ctx.snapshot()).ceph.flags
    assert (await restore(ctx, "blade2", yes=True)).code == DONE
    assert "noout" not in (await ctx.snapshot()).ceph.flags


async def test_a_node_cordoned_before_the_drain_stays_cordoned(running_lab):
    ctx = lab_context(running_lab)
    await ctx.k8s.cordon("kube05")
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    assert (await restore(ctx, "blade3", yes=True)).code == DONE
    snap = await ctx.snapshot()
    assert snap.nodes["kube05"].unschedulable and not snap.nodes["kube03"].unschedulable


async def test_restore_of_an_unknown_blade_is_refused(running_lab):
    result = await restore(lab_context(running_lab), "nope", yes=True)
    assert result.code == REFUSED and "blade1, blade2, blade3, blade4" in result.text


async def test_restore_completes_when_a_drained_node_was_deleted_meanwhile(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    kube = config.new_client_from_config(str(running_lab.workdir / "kubeconfig"))
    client.CoreV1Api(kube).delete_node("kube05")  # rebuilt during the maintenance, say
    result = await restore(ctx, "blade3", yes=True)
    assert result.code == DONE, result.text
    assert "gone from Kubernetes: kube05" in result.operation.step("uncordon").message
    assert not (await ctx.snapshot()).nodes["kube03"].unschedulable


async def test_status_and_restore_say_noout_as_ceph_has_it(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    pve_client(running_lab).cluster.ceph.flags("noout").put(value=0)  # someone cleared it by hand
    shown = " ".join((await status(ctx)).text.split())
    assert "noout set by it, but cleared since" in shown
    result = await restore(ctx, "blade3", yes=True)
    assert result.code == DONE and result.operation.step("noout-clear").message == "noout was already clear"


async def test_restore_is_refused_before_asking_while_another_operation_holds_the_blade(running_lab):
    ctx = lab_context(running_lab)
    assert (await drain(ctx, "blade3", yes=True)).code == DONE
    holder = await ctx.journal.create("reboot", "blade3", {}, ["plan"], ["blade:blade3"], now=ctx.clock())
    asked: list[object] = []
    refused = await restore(ctx, "blade3", confirm=lambda plan: asked.append(plan) or True)
    assert refused.code == REFUSED and asked == []
    assert f"blade3 is locked by operation {holder.id} (reboot)" in refused.text
