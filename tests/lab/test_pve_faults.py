"""PVE faults seen through proxmoxer: a blade losing power (595, HA fencing and recovery),
quorum loss, a held config lock, and a task made to fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import assert_shaped_like, proxmox, reference, vm_resource, wait_for, wait_task


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


def fault(lab: RunningLab, method: Callable[..., object], *args: object) -> None:
    """Call a fault method of the PVE model at the lab's current time, on the lab's thread."""
    lab.call(lambda: method(*args, lab.lab.clock.now()))


def ha_state(api: ProxmoxAPI, sid: str) -> str:
    return next(s["state"] for s in api.cluster.ha.status.current.get() if s.get("sid") == sid)


def test_a_powered_off_blade_answers_595_and_its_vms_stop(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    fault(running_lab, running_lab.lab.pve.power_off, "blade3")
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu.get()
    assert exc.value.status_code == 595
    assert vm_resource(api, 105)["status"] == "stopped"
    assert next(n for n in api.nodes.get() if n["node"] == "blade3")["status"] == "offline"
    assert next(n for n in api.cluster.status.get() if n.get("name") == "blade3")["online"] == 0
    assert api.cluster.status.get()[0]["quorate"] == 1  # three of four still vote


def test_ha_vms_of_a_dead_blade_are_fenced_then_recovered_on_another(running_lab: RunningLab,
                                                                    api: ProxmoxAPI) -> None:
    fault(running_lab, running_lab.lab.pve.power_off, "blade3")
    assert vm_resource(api, 103)["hastate"] == "fence"
    assert ha_state(api, "vm:103") == "fence"
    nodes = {n["node"]: n for n in api.cluster.resources.get(type="node")}
    assert nodes["blade3"]["hastate"] == "fence" and nodes["blade3"]["status"] == "offline"
    wait_for(lambda: vm_resource(api, 103)["node"] != "blade3", 10, "recovery of vm:103")
    wait_for(lambda: vm_resource(api, 103)["status"] == "running", 5, "vm:103 started")
    recovered = vm_resource(api, 103)
    assert recovered["hastate"] == "started"
    starts = api.nodes(recovered["node"]).tasks.get(typefilter="qmstart", vmid=103)
    assert [t["status"] for t in starts] == ["OK"]
    assert vm_resource(api, 105)["node"] == "blade3"  # not HA-managed: stays, stopped


def test_a_blade_powered_on_is_back_after_booting(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    fault(running_lab, running_lab.lab.pve.power_off, "blade4")
    fault(running_lab, running_lab.lab.pve.power_on, "blade4")
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade4").status.get()
    assert exc.value.status_code == 595  # still booting
    wait_for(lambda: next(n for n in api.nodes.get() if n["node"] == "blade4")["status"] == "online",
             5, "blade4 online")
    assert api.nodes("blade4").status.get()["uptime"] < 60
    wait_for(lambda: vm_resource(api, 104)["status"] == "running", 5, "vm:104 back on blade4")


def test_without_quorum_reads_work_and_writes_fail(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    fault(running_lab, running_lab.lab.pve.lose_quorum)
    assert api.cluster.status.get()[0]["quorate"] == 0
    assert api.cluster.ha.status.current.get()[0]["quorate"] == 0
    assert api.nodes("blade1").qemu(101).status.current.get()["status"] == "running"
    for write in (lambda: api.nodes("blade3").qemu(105).status.stop.post(),
                  lambda: api.nodes("blade3").qemu(105).migrate.post(target="blade4", online=1),
                  lambda: api.nodes("blade3").qemu(105).config.put(description="x")):
        with pytest.raises(ResourceException) as exc:
            write()
        assert exc.value.status_code == 500
        assert "cluster not ready - no quorum?" in str(exc.value)
    fault(running_lab, running_lab.lab.pve.regain_quorum)
    assert api.nodes("blade3").qemu(105).config.put(description="x") is None


def test_a_held_lock_blocks_start_until_released(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    vm = api.nodes("blade1").qemu(9000)
    wait_task(api, vm.clone.post(newid=130, name="locked"))
    running_lab.call(running_lab.lab.pve.hold_lock, 130, "backup")
    started = wait_task(api, api.nodes("blade1").qemu(130).status.start.post())
    assert started["exitstatus"] == "VM is locked (backup)"
    running_lab.call(running_lab.lab.pve.release_lock, 130)
    assert wait_task(api, api.nodes("blade1").qemu(130).status.start.post())["exitstatus"] == "OK"


def test_the_next_task_of_a_kind_ends_with_the_given_error(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    running_lab.call(running_lab.lab.pve.fail_next_task, "qmigrate", "migration aborted")
    upid = api.nodes("blade3").qemu(105).migrate.post(target="blade4", online=1)
    failed = wait_task(api, upid)
    assert failed["exitstatus"] == "migration aborted"
    assert_shaped_like(failed, reference("task-status-error.json"))
    after = vm_resource(api, 105)
    assert after["node"] == "blade3" and "lock" not in after
    assert wait_task(api, api.nodes("blade3").qemu(105).migrate.post(target="blade4", online=1)
                     )["exitstatus"] == "OK"
