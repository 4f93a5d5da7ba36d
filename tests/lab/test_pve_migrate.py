"""Migration through proxmoxer: preconditions, live migration, HA migration, migrateall, and
the ways PVE refuses or fails one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from lab.pve.migrate import MIGRATE_OVERHEAD
from lab.scenario import parse_scenario
from tests.conftest import RunningLab
from tests.lab.pve_client import proxmox, vm_resource, wait_for, wait_task

GIB = 1024**3
ONE_GBIT = 1e9 / 8


@pytest.fixture
def slow_lab(tmp_path: Path) -> Iterator[RunningLab]:
    """The seed homelab with 1 Gbit/s NICs, so a live migration lasts long enough to watch."""
    text = resources.files("lab").joinpath("scenarios/default.yaml").read_text()
    scenario = parse_scenario(text.replace("nic_gbps: 10", "nic_gbps: 1"))
    with RunningLab(tmp_path / "lab", scenario, time_scale=50) as lab:
        yield lab


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


def test_preconditions_list_allowed_nodes_and_no_local_disks(api: ProxmoxAPI) -> None:
    pre = api.nodes("blade3").qemu(105).migrate.get(target="blade4")
    assert pre["running"] == 1
    assert pre["allowed_nodes"] == ["blade1", "blade2", "blade4"]
    assert (pre["not_allowed_nodes"], pre["local_disks"], pre["local_resources"]) == ({}, [], [])
    assert api.nodes("blade1").qemu(9000).migrate.get()["running"] == 0


def test_a_live_migration_holds_the_lock_then_moves_the_vm(slow_lab: RunningLab) -> None:
    api = proxmox(slow_lab)
    upid = api.nodes("blade3").qemu(105).migrate.post(target="blade4", online=1)
    assert ":qmigrate:105:" in upid
    during = vm_resource(api, 105)
    assert (during["node"], during["lock"], during["status"]) == ("blade3", "migrate", "running")
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).migrate.post(target="blade1", online=1)
    assert "VM is locked (migrate)" in str(exc.value)
    status = wait_task(api, upid, 10)
    assert status["exitstatus"] == "OK"
    after = vm_resource(api, 105)
    assert (after["node"], after["status"]) == ("blade4", "running") and "lock" not in after
    expected = 6 * GIB / ONE_GBIT + MIGRATE_OVERHEAD  # lab seconds: memory over the NIC
    assert status["endtime"] - status["starttime"] == pytest.approx(expected, abs=2)
    log = [line["t"] for line in api.nodes("blade3").tasks(upid).log.get()]
    # PVE::AbstractMigrate stamps each line with the time; QemuMigrate renders sizes in GiB
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
    assert re.fullmatch(stamp + "starting migration of VM 105 to node 'blade4' \\(10.0.0.14\\)", log[0])
    assert any(re.fullmatch(stamp + "migration completed, transferred 6.0 GiB VM-state", t) for t in log)
    assert re.fullmatch(stamp + r"migration finished successfully \(duration 00:00:\d\d\)", log[-2])
    assert log[-1] == "TASK OK"


def test_a_running_vm_without_online_is_refused(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).migrate.post(target="blade4")
    assert exc.value.status_code == 500
    assert "can't migrate running VM without --online" in str(exc.value)


def test_migrating_to_the_same_node_is_a_parameter_error(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).migrate.post(target="blade3", online=1)
    assert exc.value.status_code == 400 and exc.value.errors == {"target": "target is local node."}


def test_a_locked_vm_is_refused(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    running_lab.call(running_lab.lab.pve.hold_lock, 105, "backup")
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).migrate.post(target="blade4", online=1)
    assert "VM is locked (backup)" in str(exc.value)
    running_lab.call(running_lab.lab.pve.release_lock, 105)
    assert wait_task(api, api.nodes("blade3").qemu(105).migrate.post(target="blade4", online=1)
                     )["exitstatus"] == "OK"


def test_a_target_without_free_memory_fails_the_task_at_the_remote_start(api: ProxmoxAPI) -> None:
    # blade1: 16 GiB - 2 GiB host - kube01 4 GiB = 10 GiB free; fill it with a 9 GiB guest
    wait_task(api, api.nodes("blade1").qemu(9000).clone.post(newid=120, name="big"))
    api.nodes("blade1").qemu(120).config.put(memory=9 * 1024)
    wait_task(api, api.nodes("blade1").qemu(120).status.start.post())
    upid = api.nodes("blade3").qemu(105).migrate.post(target="blade1", online=1)
    status = wait_task(api, upid)
    assert status["exitstatus"] == "migration problems"
    log = [line["t"] for line in api.nodes("blade3").tasks(upid).log.get(limit=100)]
    assert any(t.endswith(" [blade1] kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory")
               for t in log)
    assert any(re.search(r":\d\d ERROR: migration finished with problems", t) for t in log)
    assert log[-1] == "TASK ERROR: migration problems"
    assert vm_resource(api, 105)["node"] == "blade3"


def test_an_ha_vm_migrates_through_hamigrate_which_ends_before_the_move(slow_lab: RunningLab) -> None:
    api = proxmox(slow_lab)
    upid = api.nodes("blade1").qemu(101).migrate.post(target="blade2", online=1)
    assert ":hamigrate:101:" in upid
    assert wait_task(api, upid)["exitstatus"] == "OK"
    assert vm_resource(api, 101)["node"] == "blade1"  # the request ended; the VM has not moved
    wait_for(lambda: vm_resource(api, 101)["hastate"] == "migrate", 5, "CRM starts the migration")
    wait_for(lambda: vm_resource(api, 101)["node"] == "blade2", 10, "101 on blade2")
    assert vm_resource(api, 101)["hastate"] == "started"
    qmigrate = api.nodes("blade1").tasks.get(typefilter="qmigrate", vmid=101)
    assert [t["status"] for t in qmigrate] == ["OK"] and qmigrate[0]["user"] == "root@pam"


def test_migrateall_moves_every_guest_and_skips_locked_ones(running_lab: RunningLab,
                                                            api: ProxmoxAPI) -> None:
    running_lab.call(running_lab.lab.pve.hold_lock, 103, "backup")
    upid = api.nodes("blade3").migrateall.post(target="blade4", maxworkers=2)
    assert ":migrateall::" in upid
    status = wait_task(api, upid, 10)
    assert status["exitstatus"] == "OK"  # pve-manager's plain `warn` is not a counted task warning
    log = [line["t"] for line in api.nodes("blade3").tasks(upid).log.get()]
    assert "Check VM 103: VM is locked (backup)" in log
    assert "Check VM 105: precondition check passed" in log
    wait_for(lambda: vm_resource(api, 105)["node"] == "blade4", 10, "105 on blade4")
    assert vm_resource(api, 103)["node"] == "blade3"  # the locked one was skipped, not moved
    assert running_lab.lab.recorder.count("POST", "/migrateall") == 1


def test_migrateall_skips_a_guest_with_local_devices(
        running_lab: RunningLab, api: ProxmoxAPI) -> None:
    api.nodes("blade3").qemu(105).config.put(usb0="host=1234:5678")
    upid = api.nodes("blade3").migrateall.post(target="blade4", maxworkers=1, vms="103,105")
    assert wait_task(api, upid, 10)["exitstatus"] == "OK"
    log = [line["t"] for line in api.nodes("blade3").tasks(upid).log.get()]
    assert log[:2] == ["Check VM 103: precondition check passed", "Migrating VM 103"]
    assert "Check VM 105: skip VM 105 - precondition check failed:" in log
    assert "  Has local resources: usb0" in log
    assert vm_resource(api, 105)["node"] == "blade3"


def test_migrateall_needs_a_worker_count(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").migrateall.post(target="blade4")
    assert "max_workers in datacenter.cfg must be set" in str(exc.value)


def test_ha_manager_migrate_through_the_ha_api_moves_the_vm(api: ProxmoxAPI) -> None:
    answer = api.cluster.ha.resources("vm:104").migrate.post(node="blade1")
    assert answer == {"sid": "vm:104", "requested-node": "blade1"}
    wait_for(lambda: vm_resource(api, 104)["node"] == "blade1", 10, "104 on blade1")
    with pytest.raises(ResourceException) as exc:
        api.cluster.ha.resources("vm:105").migrate.post(node="blade1")
    assert "resource 'vm:105' is not HA managed" in str(exc.value)


def test_migrateall_refuses_a_bad_vm_list(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").migrateall.post(target="blade4", maxworkers=1, vms="105,abc")
    assert exc.value.status_code == 400
    assert exc.value.errors["vms"].startswith("invalid format - value does not look like a valid VM ID")
