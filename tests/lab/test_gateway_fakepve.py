"""A second opinion: our PVE gateway calls against fakepve, an independent fake with PVE's schema checks."""

from __future__ import annotations

import asyncio

import pytest

from infra.errors import GatewayError
from infra.gateways.ceph import CephGateway
from infra.gateways.pve import PveGateway
from infra.topology_build import parse_blades, parse_ceph, parse_vms

TOKEN, SECRET = "root@pam!drewburr", "s3cret"


@pytest.fixture
def pve(fakepve, fakepve_cafile) -> PveGateway:
    fakepve.apitokens[TOKEN] = SECRET
    fakepve.add_node("blade1")
    fakepve.add_node("blade2")
    fakepve.add_vm(101, "kube01", node="blade1", status="running")
    return PveGateway(fakepve.url, TOKEN, SECRET, ca_file=fakepve_cafile)


async def test_reads_parse_into_the_snapshot_models(pve):
    resources, status = await pve.cluster_resources(), await pve.cluster_status()
    vms = parse_vms(resources, await pve.ha_status())
    assert vms[101].name == "kube01" and vms[101].blade == "blade1" and vms[101].running
    assert set(parse_blades(resources, status)) >= {"blade1", "blade2"}
    ceph = CephGateway(pve)
    health = parse_ceph(await ceph.status(), await ceph.flags(), await ceph.osd_tree("blade1"))
    assert health.health == "HEALTH_OK" and health.osds[0].host == "blade1"
    assert (await pve.vm_status("blade1", 101)).status == "running"
    assert await pve.node_tasks("blade1", vmid=101, typefilter="qmigrate", source="all", limit=5) == []


async def test_changes_pass_pves_parameter_checks(pve):
    upid = await pve.migrate_vm("blade1", 101, "blade2", online=True)
    assert upid.startswith("UPID:blade1:")
    await CephGateway(pve).set_flag("noout", True)
    await pve.node_command("blade2", "reboot")
    assert "local_disks" in await pve.migrate_preconditions("blade1", 101, "blade2")


async def test_task_result_reads_the_exit_status_on_the_upids_node(pve):
    upid = await pve.post("nodes/blade1/qemu/101/status/stop")
    for _ in range(200):
        if (result := await pve.task_result(upid)) is not None:
            break
        await asyncio.sleep(0.05)
    assert result is not None and result.ok and result.exitstatus == "OK" and result.node == "blade1"


async def test_a_bad_parameter_is_a_400_naming_the_field(pve):
    with pytest.raises(GatewayError) as caught:
        await pve.post("nodes/blade1/qemu/101/migrate", target="blade2", online="maybe")
    assert caught.value.status == 400 and "online" in caught.value.detail
