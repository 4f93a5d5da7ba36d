"""The PVE model on a manual clock: migration time, HA fencing and recovery, reboots, quorum."""

from __future__ import annotations

import pytest

from lab.clock import ManualClock
from lab.pve.domain import ConfigLocked, NodeOffline, NotQuorate, PveError
from lab.pve.migrate import MIGRATE_OVERHEAD
from lab.pve.models import GIB, PveCluster
from lab.scenario import load_scenario


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def pve(clock: ManualClock) -> PveCluster:
    return PveCluster.from_scenario(load_scenario(None), clock.now())


def run(pve: PveCluster, clock: ManualClock, seconds: float, step: float = 1.0) -> None:
    """Advance the model in small steps, as the lab's ticker does."""
    end = clock.now() + seconds
    while clock.now() < end:
        pve.advance(clock.advance(min(step, end - clock.now())))


def test_a_live_migration_takes_memory_over_the_slower_nic(pve: PveCluster, clock: ManualClock) -> None:
    pve.blades["blade4"].nic_bandwidth = 1e9 / 8  # 1 Gbit/s: the slower end sets the pace
    expected = 6 * GIB / (1e9 / 8) + MIGRATE_OVERHEAD
    task = pve.tasks[pve.qemu_migrate("blade3", 105, "blade4", clock.now(), online=True)]
    vm = pve.vms[105]
    run(pve, clock, expected - 1)
    assert (vm.node, vm.lock, task.status) == ("blade3", "migrate", "running")
    run(pve, clock, 2)
    assert (vm.node, vm.lock, task.exitstatus) == ("blade4", None, "OK")
    assert task.endtime - task.starttime == pytest.approx(expected, abs=1.5)


def test_a_migration_whose_target_loses_power_fails_at_once_and_frees_the_nic(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.vms[103].ha = False  # a plain qmigrate, like 105's
    doomed = pve.tasks[pve.qemu_migrate("blade3", 105, "blade4", clock.now(), online=True)]
    other = pve.tasks[pve.qemu_migrate("blade3", 103, "blade2", clock.now(), online=True)]
    run(pve, clock, 3)  # both transfers share blade3's NIC now
    pve.power_off("blade4", clock.now())
    run(pve, clock, 1)
    assert doomed.exitstatus == "migration problems" and pve.vms[105].node == "blade3"
    run(pve, clock, 4 * GIB / pve.blades["blade3"].nic_bandwidth + 1)  # the rest, alone on the NIC
    assert (other.exitstatus, pve.vms[103].node) == ("OK", "blade2")


def test_stopping_a_migration_task_gives_its_share_of_the_nic_back(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.vms[103].ha = False
    stopped = pve.tasks[pve.qemu_migrate("blade3", 105, "blade4", clock.now(), online=True)]
    other = pve.tasks[pve.qemu_migrate("blade3", 103, "blade2", clock.now(), online=True)]
    run(pve, clock, 3)
    pve.node_task_stop("blade3", stopped.upid, clock.now())
    assert (stopped.status, pve.vms[105].lock, len(pve.links.transfers)) == ("stopped", None, 1)
    run(pve, clock, 4 * GIB / pve.blades["blade3"].nic_bandwidth + 1)
    assert (other.exitstatus, pve.vms[103].node, pve.vms[105].node) == ("OK", "blade2", "blade3")


def test_a_migration_to_a_blade_without_room_fails_and_leaves_the_vm(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.vms[104].memory = 13 * GIB  # blade4: 16 GiB - 2 GiB host - 13 GiB = 1 GiB free
    task = pve.tasks[pve.qemu_migrate("blade3", 105, "blade4", clock.now(), online=True)]
    run(pve, clock, 10)
    assert task.exitstatus == "migration problems"
    assert any("Cannot allocate memory" in line for line in task.log)
    assert (pve.vms[105].node, pve.vms[105].lock, pve.vms[105].status) == ("blade3", None, "running")


def test_migrating_a_running_vm_needs_online_and_a_free_lock(pve: PveCluster, clock: ManualClock) -> None:
    with pytest.raises(PveError, match="can't migrate running VM without --online"):
        pve.qemu_migrate("blade3", 105, "blade4", clock.now())
    pve.hold_lock(105, "backup")
    with pytest.raises(ConfigLocked, match=r"VM is locked \(backup\)"):
        pve.qemu_migrate("blade3", 105, "blade4", clock.now(), online=True)


def test_an_ha_migration_request_ends_before_the_vm_moves(pve: PveCluster, clock: ManualClock) -> None:
    request = pve.tasks[pve.qemu_migrate("blade1", 101, "blade2", clock.now(), online=True)]
    run(pve, clock, 2)
    assert (request.type, request.exitstatus, pve.vms[101].node) == ("hamigrate", "OK", "blade1")
    run(pve, clock, 30)
    migrations = [t for t in pve.tasks.values() if t.type == "qmigrate" and t.id == "101"]
    assert [t.exitstatus for t in migrations] == ["OK"]
    assert migrations[0].starttime > request.endtime
    assert (pve.vms[101].node, pve.vms[101].ha_state) == ("blade2", "started")


def test_a_dead_blades_ha_vms_are_fenced_then_recovered_elsewhere(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.power_off("blade3", clock.now())
    assert (pve.vms[103].status, pve.vms[105].status) == ("stopped", "stopped")
    with pytest.raises(NodeOffline):
        pve.qemu_list("blade3", clock.now())
    run(pve, clock, pve.timings.ha_fence_delay - 5)
    assert pve.vms[103].ha_state == "fence"
    assert pve.ha_node_state("blade3", clock.now()) == "fence"
    run(pve, clock, 15)
    assert pve.vms[103].node != "blade3"
    assert (pve.vms[103].status, pve.vms[103].ha_state) == ("running", "started")
    assert (pve.vms[105].node, pve.vms[105].status) == ("blade3", "stopped")  # not HA-managed


def test_a_blade_back_before_fencing_starts_its_ha_vms_again(pve: PveCluster, clock: ManualClock) -> None:
    pve.power_off("blade3", clock.now())
    run(pve, clock, 10)
    pve.power_on("blade3", clock.now())
    run(pve, clock, pve.timings.blade_boot + 10)
    assert pve.blades["blade3"].online(clock.now())
    assert (pve.vms[103].node, pve.vms[103].status) == ("blade3", "running")
    assert pve.vms[105].status == "running"  # onboot


def test_a_reboot_freezes_ha_vms_and_restarts_them_on_the_same_blade(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.node_status_command("blade3", "reboot", clock.now())
    assert pve.vms[103].ha_state == "freeze"
    run(pve, clock, pve.timings.vm_shutdown + 1)
    assert not pve.blades["blade3"].online(clock.now())
    assert pve.vms[103].status == "stopped"
    run(pve, clock, pve.timings.ha_fence_delay + pve.timings.blade_boot)
    assert (pve.vms[103].node, pve.vms[103].status, pve.vms[103].ha_state) == ("blade3", "running", "started")


def test_a_blade_power_cycled_while_rebooting_boots_once_from_the_power_on(
        pve: PveCluster, clock: ManualClock) -> None:
    pve.node_status_command("blade3", "reboot", clock.now())
    run(pve, clock, pve.timings.vm_shutdown + 1)
    pve.power_off("blade3", clock.now())
    run(pve, clock, 10)
    pve.power_on("blade3", clock.now())
    run(pve, clock, pve.timings.blade_boot - 5)  # past the reboot's own boot time, not the power-on's
    on_blade3 = [vm for vm in pve.vms.values() if vm.node == "blade3"]
    assert on_blade3 and not any(vm.running() for vm in on_blade3)
    assert not pve.blades["blade3"].online(clock.now())
    run(pve, clock, 10)
    assert pve.blades["blade3"].online(clock.now())
    assert any(vm.running() for vm in on_blade3)


def test_losing_two_of_four_blades_loses_quorum_and_writes_fail(pve: PveCluster, clock: ManualClock) -> None:
    pve.power_off("blade3", clock.now())
    assert pve.quorate(clock.now())
    pve.power_off("blade4", clock.now())
    assert not pve.quorate(clock.now())
    with pytest.raises(NotQuorate, match=r"cluster not ready - no quorum\?"):
        pve.qemu_status_command("blade1", 101, "stop", clock.now())
    assert pve.qemu_list("blade1", clock.now())  # reads still work
    run(pve, clock, 300)
    assert pve.vms[103].ha_state == "fence"  # HA stands still without quorum


def test_the_next_task_of_a_kind_fails_with_the_given_message(pve: PveCluster, clock: ManualClock) -> None:
    pve.fail_next_task("qmstart", "start failed: simulated")
    pve.qemu_status_command("blade3", 105, "stop", clock.now())
    run(pve, clock, 5)
    first = pve.tasks[pve.qemu_status_command("blade3", 105, "start", clock.now())]
    run(pve, clock, 5)
    second = pve.tasks[pve.qemu_status_command("blade3", 105, "start", clock.now())]
    run(pve, clock, 5)
    assert first.exitstatus == "start failed: simulated"
    assert second.exitstatus == "OK"
    assert pve.vms[105].status == "running"


def test_cold_config_changes_of_a_running_vm_wait_for_a_restart(pve: PveCluster, clock: ManualClock) -> None:
    pve.qemu_config_update("blade3", 105, {"memory": "8192", "description": "agent"}, clock.now(),
                           is_async=False)
    assert pve.vms[105].memory == 6 * GIB
    assert pve.qemu_config("blade3", 105, clock.now(), current=True)["description"] == "agent"
    assert pve.qemu_config("blade3", 105, clock.now())["memory"] == "8192"
    pve.qemu_status_command("blade3", 105, "reboot", clock.now())
    run(pve, clock, 20)
    assert pve.vms[105].memory == 8 * GIB
    assert pve.qemu_pending("blade3", 105, clock.now())[0].keys() >= {"key", "value"}


def test_a_clean_shutdown_lets_ha_recover_the_vms_elsewhere(pve: PveCluster, clock: ManualClock) -> None:
    pve.node_status_command("blade4", "shutdown", clock.now())
    run(pve, clock, pve.timings.vm_shutdown + 1)
    assert not pve.blades["blade4"].powered
    assert pve.vms[104].ha_state == "fence"  # policy `conditional`: a poweroff is not frozen
    run(pve, clock, pve.timings.ha_fence_delay + 5)
    assert pve.vms[104].node != "blade4" and pve.vms[104].status == "running"


def test_recovery_waits_for_a_blade_with_room(pve: PveCluster, clock: ManualClock) -> None:
    for name in ("blade1", "blade2", "blade4"):
        pve.blades[name].memory = 8 * GIB  # 2 GiB host + its guests leave less than 4 GiB free
    pve.power_off("blade3", clock.now())
    run(pve, clock, pve.timings.ha_fence_delay + 10)
    assert (pve.vms[103].ha_state, pve.vms[103].node) == ("recovery", "blade3")
    pve.blades["blade2"].memory = 16 * GIB
    run(pve, clock, 5)
    assert (pve.vms[103].ha_state, pve.vms[103].node) == ("started", "blade2")


def test_a_blade_off_from_the_start_has_its_ha_vms_recovered(clock: ManualClock) -> None:
    scenario = load_scenario(None)
    blades = [b.model_copy(update={"online": b.name != "blade4"}) for b in scenario.blades]
    pve = PveCluster.from_scenario(scenario.model_copy(update={"blades": blades}), clock.now())
    assert (pve.vms[104].status, pve.vms[104].ha_state) == ("stopped", "fence")
    run(pve, clock, pve.timings.ha_fence_delay + 5)
    assert pve.vms[104].node != "blade4" and pve.vms[104].status == "running"


def test_bwlimit_caps_the_migration_speed(pve: PveCluster, clock: ManualClock) -> None:
    kib = 100 * 1024  # 100 MiB/s, below the 10 Gbit/s NICs
    task = pve.tasks[pve.qemu_migrate("blade3", 105, "blade4", clock.now(), online=True, bwlimit=kib)]
    run(pve, clock, 6 * GIB / (kib * 1024) + MIGRATE_OVERHEAD + 1)
    assert task.exitstatus == "OK"
    assert task.endtime - task.starttime == pytest.approx(6 * 1024 / 100 + MIGRATE_OVERHEAD, abs=1.5)


def test_migrateall_skips_a_guest_removed_while_it_waits_for_a_worker(pve: PveCluster,
                                                                      clock: ManualClock) -> None:
    task = pve.tasks[pve.node_migrateall("blade3", "blade4", clock.now(), maxworkers=1)]
    run(pve, clock, 1)  # vm:103 is migrating; vm:105 waits for the worker
    del pve.vms[105]
    run(pve, clock, 60)
    assert task.exitstatus == "OK"
    assert "Check VM 105: Configuration file 'nodes/blade3/qemu-server/105.conf' does not exist" in task.log


def test_a_migration_to_a_powered_off_blade_aborts_within_seconds(pve: PveCluster,
                                                                  clock: ManualClock) -> None:
    pve.power_off("blade4", clock.now())
    task = pve.tasks[pve.qemu_migrate("blade3", 105, "blade4", clock.now(), online=True)]
    run(pve, clock, 5)
    assert task.exitstatus == "migration aborted"
    assert task.log[0].endswith("ERROR: migration aborted (duration 00:00:03): Can't connect to destination "
                                "address using public key")
    assert (pve.vms[105].node, pve.vms[105].lock, pve.vms[105].status) == ("blade3", None, "running")


def test_a_resize_beyond_what_rbd_holds_fails_the_task(pve: PveCluster, clock: ManualClock) -> None:
    task = pve.tasks[pve.qemu_resize("blade1", 101, "scsi0", "+" + "9" * 400 + "T", clock.now())]
    run(pve, clock, 5)
    assert task.exitstatus == "rbd resize 'vm-101-disk-0' error: rbd: resize error: (27) File too large"
    assert pve.vms[101].disks[0].size == 64 * GIB


def test_a_task_whose_work_breaks_ends_with_an_internal_error(pve: PveCluster, clock: ManualClock) -> None:
    def broken(task: object, end: float) -> None:
        raise KeyError("boom")

    task = pve.run_task("blade1", "qmstart", 101, clock.now(), 1, broken)
    run(pve, clock, 2)
    assert (task.status, task.exitstatus) == ("stopped", "internal error - KeyError: 'boom'")


def test_pending_cores_and_memory_apply_at_start_and_must_fit_the_blade(pve: PveCluster,
                                                                       clock: ManualClock) -> None:
    pve.qemu_config_update("blade3", 105, {"cores": "64"}, clock.now(), is_async=False)
    reboot = pve.tasks[pve.qemu_status_command("blade3", 105, "reboot", clock.now())]
    run(pve, clock, 20)
    assert reboot.exitstatus == "MAX 6 vcpus allowed per VM on this node"
    assert (pve.vms[105].cores, pve.vms[105].status) == (64, "stopped")
    pve.qemu_config_update("blade3", 105, {"cores": "4", "memory": str(64 * 1024)}, clock.now(),
                           is_async=False)
    start = pve.tasks[pve.qemu_status_command("blade3", 105, "start", clock.now())]
    run(pve, clock, 5)
    assert start.exitstatus == "start failed: QEMU exited with code 1"
    assert "kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory" in start.log


def test_a_stopped_migrateall_starts_no_more_migrations(pve: PveCluster, clock: ManualClock) -> None:
    upid = pve.node_migrateall("blade3", "blade4", clock.now(), maxworkers=1)
    run(pve, clock, 0.1, step=0.1)  # before its first round of workers
    pve.node_task_stop("blade3", upid, clock.now())
    assert pve.tasks[upid].exitstatus == "received interrupt"
    run(pve, clock, 300)
    assert not [t for t in pve.tasks.values() if t.type in ("qmigrate", "hamigrate")]
    assert {vm.node for vm in pve.vms.values() if vm.vmid in (103, 105)} == {"blade3"}


def test_cluster_tasks_show_everyone_only_to_sys_audit(pve: PveCluster, clock: ManualClock) -> None:
    upid = pve.qemu_status_command("blade3", 105, "reboot", clock.now(), user="root@pam!drewburr")
    pve.privileges["root@pam!auditor"] = frozenset({"Sys.Audit", "VM.Audit"})
    pve.privileges["root@pam!vms"] = frozenset({"VM.Audit"})
    listed = pve.cluster_tasks(clock.now())[0]
    assert (listed["upid"], listed["user"], listed["tokenid"]) == (upid, "root@pam", "drewburr")
    assert pve.cluster_tasks(clock.now(), "root@pam!auditor")[0]["upid"] == upid
    assert pve.cluster_tasks(clock.now(), "root@pam!vms") == []


def test_a_new_guest_is_locked_until_its_create_task_ends(pve: PveCluster, clock: ManualClock) -> None:
    upid = pve.qemu_create("blade2", 140, {"scsi0": "ceph-rbd:8"}, clock.now())
    assert pve.vms[140].lock == "create" and pve.vms[140].disks == []
    run(pve, clock, 5)
    assert pve.tasks[upid].exitstatus == "OK"
    assert pve.vms[140].lock is None and [d.volume for d in pve.vms[140].disks] == ["vm-140-disk-0"]
