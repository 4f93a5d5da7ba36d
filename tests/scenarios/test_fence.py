"""`fence` and `evacuate` as operations on the lab: a dead blade's pods come back elsewhere only
once PVE HA fenced it, a blade PVE sees online or would never fence is refused, and a failing
OSD's blade is evacuated without noout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from infra.fencing import fence_state
from infra.journal import OperationStatus
from infra.operations import run as operations
from infra.operations.context import Context
from infra.operations.fence import release_ready
from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.homelab_k8s import OUT_OF_SERVICE, core, postgres, postgres_on, taints
from tests.scenarios.opsctx import fault, lab_context, pve_client, settled


async def _run(ctx: Context, kind: str, target: str, **params: object) -> OperationStatus:
    op = await operations.create(ctx, kind, target, dict(params))
    return await operations.run(ctx, op.id)


def _verdict(ctx: Context, blade: str) -> str:
    return fence_state(asyncio.run(ctx.pve.ha_manager_status()), blade).verdict


def test_a_powered_off_blade_is_fenced_after_pve_ha_and_postgres_runs_ready_elsewhere(
        running_lab: RunningLab) -> None:
    ctx, api = lab_context(running_lab), core(running_lab)
    asyncio.run(settled(ctx))
    postgres_on(api, "kube05")  # blade3's VM that PVE HA does not restart
    fault(running_lab, "power-off", "blade3")
    wait_for(lambda: _verdict(ctx, "blade3") == "fenced", timeout=30, what="PVE HA's fence of blade3")
    op = asyncio.run(_run(ctx, "fence", "blade3"))
    assert op.phase == "Succeeded", op.last_error
    node, ready = postgres(api)
    assert ready and node not in ("kube05", None)
    assert OUT_OF_SERVICE in taints(api, "kube05")
    recover = op.step("recover").message
    assert "kube05 (105) is not HA: it stays down on blade3" in recover
    assert "PVE HA restarted kube03 (103) on" in recover and f"default/postgres-0 Ready on {node}" in recover

    fault(running_lab, "power-on", "blade3")
    wait_for(lambda: asyncio.run(release_ready(ctx, op.id)) == ["kube05"], timeout=60,
             what="kube05 Ready again, untainted")
    assert OUT_OF_SERVICE not in taints(api, "kube05")


def test_a_blade_pve_sees_online_is_never_fenced(running_lab: RunningLab) -> None:
    ctx = lab_context(running_lab)
    op = asyncio.run(_run(ctx, "fence", "blade3", confirmed_by="U0ADMIN"))
    assert op.phase == "Failed"
    assert op.last_error == "refused: PVE sees blade3 online; a blade PVE sees online is never fenced"
    assert OUT_OF_SERVICE not in taints(core(running_lab), "kube05")


def test_a_partitioned_blade_without_ha_services_is_not_fenced_and_its_vms_keep_running(
        running_lab: RunningLab) -> None:
    ctx, api = lab_context(running_lab), core(running_lab)
    asyncio.run(settled(ctx))
    pve_client(running_lab).cluster.ha.resources("vm:104").delete()  # blade4's only HA VM: its LRM goes idle
    wait_for(lambda: asyncio.run(ctx.pve.ha_manager_status()).lrms["blade4"].state != "active", timeout=20,
             what="blade4's LRM idle")
    fault(running_lab, "lose-quorum", "blade4")
    wait_for(lambda: _verdict(ctx, "blade4") == "never", timeout=20, what="blade4 offline in PVE")
    op = asyncio.run(_run(ctx, "fence", "blade4"))
    assert op.phase == "Failed" and op.last_error is not None
    assert op.last_error.startswith("refused: blade4's LRM is idle")
    assert OUT_OF_SERVICE not in taints(api, "kube04")
    assert running_lab.call(lambda: running_lab.lab.pve.vms[104].running())  # partitioned, not off


def test_a_failing_osds_blade_is_evacuated_without_noout(running_lab: RunningLab) -> None:
    ctx = lab_context(running_lab)
    asyncio.run(settled(ctx))
    fault(running_lab, "osd-down", "blade2")
    op = asyncio.run(_run(ctx, "evacuate", "blade2", keep_noout=False))
    assert op.phase == "Succeeded", op.last_error
    assert "noout" not in [s.name for s in op.steps]
    assert "noout" not in asyncio.run(ctx.ceph.flags_set())
    snap = asyncio.run(ctx.snapshot())
    assert [vm.name for vm in snap.vms_on("blade2") if vm.running] == []
    assert snap.nodes["kube02"].unschedulable


def test_an_ha_vms_node_is_tainted_until_pve_ha_restarted_it_elsewhere(tmp_path: Path) -> None:
    # 10x: PVE HA's restart of kube03 takes its 30 lab s boot, three real seconds to look at it
    with RunningLab(tmp_path / "lab", load_scenario(None), time_scale=10) as lab:
        ctx, api = lab_context(lab), core(lab)
        asyncio.run(settled(ctx, within=60))
        fault(lab, "power-off", "blade3")
        wait_for(lambda: _verdict(ctx, "blade3") == "fenced", timeout=60, what="PVE HA's fence of blade3")
        op = asyncio.run(_run(ctx, "fence", "blade3"))
        assert op.phase == "Succeeded", op.last_error
        assert op.step("taint").message.startswith(f"{OUT_OF_SERVICE}=nodeshutdown:NoExecute on kube03, "
                                                   "kube05")
        assert op.step("release").message.startswith("taint removed from kube03 (Ready again)")
        assert taints(api, "kube03") == set() and OUT_OF_SERVICE in taints(api, "kube05")
