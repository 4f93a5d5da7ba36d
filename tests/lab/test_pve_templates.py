"""Templates, clones, creating guests, storages and tasks through proxmoxer: what PVE refuses is
refused with PVE's words, and what it does happens in PVE's order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.lab.pve_client import agent_up, eth0_address, proxmox, vm_resource, wait_for, wait_task


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


@pytest.fixture
def slow_api(tmp_path: Path) -> Iterator[ProxmoxAPI]:
    """A lab at 5 lab seconds a second: a clone (20 s) runs for 4 real seconds, time to look at it."""
    with RunningLab(tmp_path / "lab", load_scenario(None), time_scale=5) as lab:
        yield proxmox(lab)


def _refused(call: object, **params: object) -> ResourceException:
    with pytest.raises(ResourceException) as exc:
        call(**params)  # type: ignore[operator]
    return exc.value


def test_a_template_cannot_be_started(api: ProxmoxAPI) -> None:
    template = api.nodes("blade1").qemu(9000)
    status = wait_task(api, template.status.start.post())
    assert status["exitstatus"] == "you can't start a vm if it's a template"
    assert template.status.current.get()["status"] == "stopped"
    assert "VM 9000 is not running" in str(_refused(template.agent.ping.post))


def test_clones_to_storages_pve_refuses_fail_before_any_task(api: ProxmoxAPI) -> None:
    clone = api.nodes("blade1").qemu(9000).clone.post
    nosuch = _refused(clone, newid=130, full=1, storage="nosuch")
    assert (nosuch.status_code, nosuch.content) == (500, "storage 'nosuch' does not exist")
    no_images = _refused(clone, newid=130, full=1, storage="local")
    assert no_images.status_code == 400
    assert no_images.errors == {"storage": "storage 'local' does not support vm images"}
    not_shared = _refused(clone, newid=130, full=1, storage="local-lvm", target="blade4")
    assert not_shared.content == "can't clone to non-shared storage 'local-lvm'"
    linked = _refused(clone, newid=130, storage="ceph-rbd")
    assert linked.content == "parameter 'storage' not allowed for linked clones"
    fmt = _refused(clone, newid=130, format="raw")
    assert fmt.content == "parameter 'format' not allowed for linked clones"
    assert _refused(clone, newid=130, snapname="pre").content == "snapshot 'pre' does not exist"
    assert 130 not in {r["vmid"] for r in api.cluster.resources.get(type="vm")}


def test_only_templates_give_linked_clones(api: ProxmoxAPI) -> None:
    refused = _refused(api.nodes("blade3").qemu(105).clone.post, newid=131, full=0)
    assert refused.content == "Linked clone feature is not supported for 'ceph-rbd:vm-105-disk-0' (scsi0)"
    full = wait_task(api, api.nodes("blade3").qemu(105).clone.post(newid=131, name="copy"))
    assert full["exitstatus"] == "OK"
    assert api.nodes("blade3").qemu(131).config.get()["scsi0"].startswith("ceph-rbd:vm-131-disk-0,")


def test_a_full_clone_to_another_node_moves_its_config_there_at_the_end(slow_api: ProxmoxAPI) -> None:
    api = slow_api
    upid = api.nodes("blade1").qemu(9000).clone.post(newid=132, name="kube07", full=1, target="blade4",
                                                     storage="ceph-rbd", description="K3s agent")
    during = vm_resource(api, 132)
    assert (during["node"], during["lock"]) == ("blade1", "clone")
    assert wait_task(api, upid)["exitstatus"] == "OK"
    after = vm_resource(api, 132)
    assert after["node"] == "blade4" and "lock" not in after
    config = api.nodes("blade4").qemu(132).config.get()
    assert config["scsi0"].startswith("ceph-rbd:vm-132-disk-0,")
    assert config["ide2"] == "ceph-rbd:vm-132-cloudinit,media=cdrom"
    assert config["description"] == "K3s agent"
    log = [line["t"] for line in api.nodes("blade1").tasks(upid).log.get()]
    assert "create full clone of drive ide2 (ceph-rbd:vm-9000-cloudinit)" in log
    assert "allocated target volume 'ceph-rbd:vm-132-cloudinit'" in log


def test_nextid_is_not_a_reservation(api: ProxmoxAPI) -> None:
    nextid = int(api.cluster.nextid.get())
    wait_task(api, api.nodes("blade2").qemu.post(vmid=nextid, name="racer", memory=1024))
    refused = _refused(api.nodes("blade1").qemu(9000).clone.post, newid=nextid, name="late")
    assert refused.content == f"unable to create VM {nextid}: config file already exists"
    assert int(api.cluster.nextid.get()) != nextid


def test_creating_a_vm_allocates_its_disks_and_cloud_init_drive(api: ProxmoxAPI) -> None:
    upid = api.nodes("blade2").qemu.post(vmid=140, name="fresh", memory=2048, cores=2,
                                         scsi0="ceph-rbd:16", ide2="ceph-rbd:cloudinit",
                                         net0="virtio,bridge=vmbr0", ipconfig0="ip=dhcp", agent=1)
    assert ":qmcreate:140:" in upid
    assert wait_task(api, upid)["exitstatus"] == "OK"
    config = api.nodes("blade2").qemu(140).config.get()
    assert config["scsi0"].startswith("ceph-rbd:vm-140-disk-0,") and "size=16G" in config["scsi0"]
    assert config["ide2"] == "ceph-rbd:vm-140-cloudinit,media=cdrom"
    assert config["net0"] == "virtio=BC:24:11:00:00:8C,bridge=vmbr0"
    assert (config["name"], config["cores"], config["memory"], config["boot"]) == (
        "fresh", 2, "2048", "order=scsi0;ide2;net0")
    taken = _refused(api.nodes("blade3").qemu.post, vmid=140, name="again")
    assert taken.content == "unable to create VM 140 - VM 140 already exists on node 'blade2'"
    nosuch = _refused(api.nodes("blade2").qemu.post, vmid=141, scsi0="nosuch:8")
    assert nosuch.content == "storage 'nosuch' does not exist"
    assert _refused(api.nodes("blade2").qemu.post, vmid=141, cores=0).errors == {
        "cores": "value must have a minimum value of 1"}
    assert _refused(api.nodes("blade2").qemu.post, vmid=141, scsi0="local:8").errors == {
        "storage": "storage 'local' does not support vm images"}
    assert _refused(api.nodes("blade2").qemu.post, vmid=141, scsi0="8").content == (
        "no storage ID specified (and no default storage)")
    failed = wait_task(api, api.nodes("blade2").qemu.post(vmid=141, ide2="nosuch:cloudinit"))
    assert failed["exitstatus"] == "unable to create VM 141 - storage 'nosuch' does not exist"
    assert 141 not in {r["vmid"] for r in api.cluster.resources.get(type="vm")}
    wait_task(api, api.nodes("blade2").qemu.post(vmid=141, scsi0="8", storage="ceph-rbd"))
    assert api.nodes("blade2").qemu(141).config.get()["scsi0"].startswith("ceph-rbd:vm-141-disk-0,")


def test_converting_to_a_template(api: ProxmoxAPI) -> None:
    running = _refused(api.nodes("blade3").qemu(105).template.post)
    assert running.content == "you can't convert a VM to template if VM is running"
    wait_task(api, api.nodes("blade2").qemu.post(vmid=150, name="golden", scsi0="ceph-rbd:8"))
    vm = api.nodes("blade2").qemu(150)
    assert wait_task(api, vm.template.post())["exitstatus"] == "OK"
    config = vm.config.get()
    assert config["template"] == 1 and config["scsi0"].startswith("ceph-rbd:base-150-disk-0,")
    assert _refused(vm.template.post).content == "you can't convert a template to a template"
    linked = wait_task(api, vm.clone.post(newid=151, name="from-golden"))
    assert linked["exitstatus"] == "OK"
    assert api.nodes("blade2").qemu(151).config.get()["scsi0"].startswith("ceph-rbd:base-150-disk-0/vm-151")


def test_stopping_a_clone_task_interrupts_it_and_removes_the_half_made_guest(slow_api: ProxmoxAPI) -> None:
    api = slow_api
    upid = api.nodes("blade1").qemu(9000).clone.post(newid=160, name="doomed")
    assert upid in {t["upid"] for t in api.cluster.tasks.get() if "status" not in t}
    assert api.nodes("blade1").tasks(upid).delete() is None
    status = api.nodes("blade1").tasks(upid).status.get()
    assert (status["status"], status["exitstatus"]) == ("stopped", "clone failed: interrupted by signal")
    assert 160 not in {r["vmid"] for r in api.cluster.resources.get(type="vm")}
    listed = next(t for t in api.cluster.tasks.get() if t["upid"] == upid)
    assert (listed["status"], listed["user"], listed["tokenid"]) == (
        "clone failed: interrupted by signal", "root@pam", "drewburr")
    api.nodes("blade1").tasks(upid).delete()  # a stopped task: nothing to do, as on PVE
    unknown = _refused(api.nodes("blade1").tasks(upid.replace(":qmclone:", ":qmstart:")).delete)
    assert (unknown.status_code, unknown.errors) == (400, {"upid": "no such task"})


def test_stopping_another_task_ends_it_with_the_workers_interrupt(slow_api: ProxmoxAPI) -> None:
    api = slow_api
    upid = api.nodes("blade3").qemu(105).status.shutdown.post()
    api.nodes("blade3").tasks(upid).delete()
    assert wait_task(api, upid)["exitstatus"] == "received interrupt"


def test_storages_of_a_node_filtered_as_pve_filters_them(api: ProxmoxAPI) -> None:
    storages = {s["storage"]: s for s in api.nodes("blade1").storage.get()}
    assert set(storages) == {"local", "local-lvm", "ceph-rbd"}
    assert (storages["ceph-rbd"]["type"], storages["ceph-rbd"]["shared"], storages["local"]["content"]) == (
        "rbd", 1, "backup,iso,vztmpl")
    images = {s["storage"] for s in api.nodes("blade1").storage.get(content="images", enabled=1)}
    assert images == {"local-lvm", "ceph-rbd"}
    assert [s["storage"] for s in api.nodes("blade1").storage.get(target="blade2")] == ["ceph-rbd"]
    local = api.nodes("blade1").storage.get(storage="local", format=1)[0]
    assert local["formats"] == {"supported": ["qcow2", "raw", "subvol", "vmdk"], "default": "raw"}
    missing = _refused(api.nodes("blade1").storage.get, storage="nosuch")
    assert missing.errors == {"storage": "No such storage."}
    status = api.nodes("blade1").storage("ceph-rbd").status.get()
    assert status["total"] == status["used"] + status["avail"] and status["active"] == 1
    gone = _refused(api.nodes("blade1").storage("nosuch").status.get)
    assert gone.errors == {"storage": "No such storage."}


def test_a_vm_created_with_start_boots_with_its_cloud_init_address(api: ProxmoxAPI) -> None:
    upid = api.nodes("blade4").qemu.post(vmid=142, name="kube08", memory=1024, scsi0="ceph-rbd:8",
                                         ide2="ceph-rbd:cloudinit", net0="virtio,bridge=vmbr0",
                                         ipconfig0="ip=192.168.1.142/24,gw=192.168.1.1", agent=1, start=1)
    assert wait_task(api, upid)["exitstatus"] == "OK"
    vm = api.nodes("blade4").qemu(142)
    assert vm.status.current.get()["status"] == "running"

    wait_for(lambda: agent_up(vm), 10, "the guest agent")
    assert eth0_address(vm) == "192.168.1.142"


def test_only_a_tasks_owner_or_sys_modify_may_stop_it(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    info = json.loads((running_lab.workdir / "lab.json").read_text())["auditor_token"]
    auditor = proxmox(running_lab, info["token_id"].split("!")[1], info["token_secret"])
    upid = api.nodes("blade1").qemu(9000).clone.post(newid=170, name="kept")
    refused = _refused(auditor.nodes("blade1").tasks(upid).delete)
    assert refused.status_code == 403
    assert refused.content == "Permission check failed (/nodes/blade1, Sys.Modify)"
    assert wait_task(api, upid)["exitstatus"] == "OK"
    # the auditor may read a guest's cloud-init, but sees no password hash
    api.nodes("blade1").qemu(170).config.put(cipassword="hunter2")
    assert "password: **********\n" in auditor.nodes("blade1").qemu(170).cloudinit.dump.get(type="user")


def test_a_guest_on_local_storage_cannot_live_migrate_without_its_disks(api: ProxmoxAPI) -> None:
    wait_task(api, api.nodes("blade4").qemu.post(vmid=143, name="local", memory=512, scsi0="local-lvm:4",
                                                 start=1))
    vm = api.nodes("blade4").qemu(143)
    assert vm.migrate.get(target="blade2")["local_disks"] == [
        {"volid": "local-lvm:vm-143-disk-0", "size": 4 * 1024**3, "drivename": "scsi0", "is_attached": 1}]
    refused = _refused(vm.migrate.post, target="blade2", online=1)
    assert refused.content == "can't live migrate attached local disks without with-local-disks option"
    elsewhere = _refused(vm.clone.post, newid=144, target="blade2")
    assert elsewhere.content == "can't clone VM to node 'blade2' (VM uses local storage)"
    wait_task(api, vm.status.stop.post())
    assert wait_task(api, vm.migrate.post(target="blade2"))["exitstatus"] == "OK"


def test_a_template_backing_linked_clones_cannot_be_destroyed(api: ProxmoxAPI) -> None:
    template = api.nodes("blade1").qemu(9000)
    wait_task(api, template.clone.post(newid=180, name="linked"))
    failed = wait_task(api, template.delete())
    assert failed["exitstatus"] == "base volume 'ceph-rbd:base-9000-disk-0' is still in use by linked cloned"
    assert "lock" not in template.config.get()
    wait_task(api, api.nodes("blade1").qemu(180).delete())
    assert wait_task(api, template.delete())["exitstatus"] == "OK"
