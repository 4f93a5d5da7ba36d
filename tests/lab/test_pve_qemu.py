"""One guest through proxmoxer: status, power, config (async POST, sync PUT, pending),
cloud-init settings, clone and resize."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import assert_shaped_like, proxmox, reference, vm_resource, wait_for, wait_task

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f ops@homelab"


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


def test_qemu_list_has_the_guests_of_the_node(api: ProxmoxAPI) -> None:
    guests = {g["vmid"]: g for g in api.nodes("blade3").qemu.get()}
    assert set(guests) == {103, 105}
    assert guests[105]["name"] == "kube05" and guests[105]["status"] == "running"
    assert guests[105]["maxmem"] == 6 * 1024**3


def test_status_current_is_shaped_like_pve(api: ProxmoxAPI) -> None:
    status = api.nodes("blade1").qemu(101).status.current.get()
    assert_shaped_like(status, reference("qemu-status-current.json"),
                       {"vmid", "name", "status", "qmpstatus", "cpus", "maxmem", "mem", "maxdisk",
                        "uptime", "cpu", "pid", "agent", "ha", "running-machine", "running-qemu"})
    assert status["ha"] == {"managed": 1, "state": "started"}
    assert api.nodes("blade3").qemu(105).status.current.get()["ha"] == {"managed": 0}


def test_a_vm_on_another_node_has_no_config_file_here(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade2").qemu(101).status.current.get()
    assert exc.value.status_code == 500
    assert "Configuration file 'nodes/blade2/qemu-server/101.conf' does not exist" in str(exc.value)


def test_stopping_and_starting_a_plain_vm_runs_qm_tasks(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    upid = vm.status.shutdown.post()
    assert ":qmshutdown:105:" in upid
    assert wait_task(api, upid)["exitstatus"] == "OK"
    assert vm.status.current.get()["status"] == "stopped"
    upid = vm.status.start.post()
    assert ":qmstart:105:" in upid and wait_task(api, upid)["exitstatus"] == "OK"
    assert vm.status.current.get()["qmpstatus"] == "running"
    again = wait_task(api, vm.status.start.post())
    assert again["exitstatus"] == "VM 105 already running"
    assert ":qmreboot:105:" in vm.status.reboot.post()


def test_a_start_that_logs_a_warning_ends_with_warnings(api: ProxmoxAPI) -> None:
    wait_task(api, api.nodes("blade1").qemu(9000).clone.post(newid=140, name="e1000"))
    vm = api.nodes("blade1").qemu(140)
    vm.config.put(net0="e1000=BC:24:11:00:00:8C,bridge=vmbr0,mtu=9000")
    upid = vm.status.start.post()
    assert wait_task(api, upid)["exitstatus"] == "WARNINGS: 1"
    log = [line["t"] for line in api.nodes("blade1").tasks(upid).log.get()]
    assert log[-2:] == ["WARN: netdev net0: ignoring MTU '9000', not using VirtIO", "TASK WARNINGS: 1"]
    assert vm.status.current.get()["status"] == "running"


def test_stopping_an_ha_vm_goes_through_ha_manager(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade2").qemu(102)
    upid = vm.status.stop.post()
    assert ":hastop:102:" in upid
    assert wait_task(api, upid)["exitstatus"] == "OK"
    wait_for(lambda: vm.status.current.get()["status"] == "stopped", 5, "HA stop of 102")
    assert api.cluster.ha.resources("vm:102").get()["state"] == "stopped"
    assert ":hastart:102:" in vm.status.start.post()
    wait_for(lambda: vm.status.current.get()["status"] == "running", 5, "HA start of 102")


def test_rebooting_a_stopped_vm_is_refused(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade1").qemu(9000).status.reboot.post()
    assert "VM 9000 not running" in str(exc.value)


def test_config_put_is_synchronous_and_post_returns_a_task(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    assert vm.config.put(description="k3s agent") is None
    assert vm.config.get()["description"] == "k3s agent"
    upid = vm.config.post(tags="k3s")
    assert ":qmconfig:105:" in upid and wait_task(api, upid)["exitstatus"] == "OK"
    assert vm.config.get()["tags"] == "k3s"
    assert vm_resource(api, 105)["tags"] == "k3s"


def test_memory_of_a_running_vm_is_pending_until_restart(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    vm.config.put(memory=8192)
    pending = {p["key"]: p for p in vm.pending.get()}
    assert pending["memory"] == {"key": "memory", "value": "6144", "pending": "8192"}
    assert vm.config.get(current=1)["memory"] == "6144"
    assert vm.config.get()["memory"] == "8192"
    wait_task(api, vm.status.reboot.post(), 10)
    assert vm.status.current.get()["maxmem"] == 8 * 1024**3
    assert "pending" not in {p["key"]: p for p in vm.pending.get()}["memory"]


def test_cloud_init_settings_are_kept_as_given(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade1").qemu(9000)
    encoded = quote(SSH_KEY, safe="")
    vm.config.put(ciuser="ops", sshkeys=encoded, ipconfig0="ip=192.168.1.50/24,gw=192.168.1.1",
                  nameserver="192.168.1.1")
    config = vm.config.get()
    assert config["sshkeys"] == encoded  # PVE returns the keys still percent-encoded
    assert (config["ciuser"], config["ipconfig0"], config["nameserver"]) == (
        "ops", "ip=192.168.1.50/24,gw=192.168.1.1", "192.168.1.1")


def test_unencoded_ssh_keys_are_refused(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade1").qemu(9000).config.put(sshkeys=SSH_KEY)
    assert exc.value.status_code == 400
    assert exc.value.errors["sshkeys"].startswith("invalid format - invalid urlencoded string")


def test_a_config_digest_that_changed_is_refused(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    digest = vm.config.get()["digest"]
    vm.config.put(description="first", digest=digest)
    with pytest.raises(ResourceException) as exc:
        vm.config.put(description="second", digest=digest)
    assert "detected modified configuration" in str(exc.value)


def test_a_locked_vm_refuses_config_changes(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    running_lab.call(running_lab.lab.pve.hold_lock, 105, "backup")
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).config.put(description="x")
    assert "VM is locked (backup)" in str(exc.value)
    assert api.nodes("blade3").qemu(105).config.get()["lock"] == "backup"
    with pytest.raises(ResourceException) as exc:  # an API token is not root@pam
        api.nodes("blade3").qemu(105).config.put(description="x", skiplock=1)
    assert exc.value.errors == {"skiplock": "Only root may use this option."}
    host, port = running_lab.pve_url.removeprefix("https://").split(":")
    root = ProxmoxAPI(host, port=int(port), user="root@pam", verify_ssl=running_lab.ca_file,
                      password=running_lab.lab.pve.passwords["root@pam"])
    root.nodes("blade3").qemu(105).config.put(description="during backup", skiplock=1)
    assert api.nodes("blade3").qemu(105).config.get()["description"] == "during backup"


def test_cloning_the_template_makes_a_linked_stopped_clone(api: ProxmoxAPI) -> None:
    upid = api.nodes("blade1").qemu(9000).clone.post(newid=110, name="kube06", target="blade4")
    assert ":qmclone:9000:" in upid
    assert vm_resource(api, 110)["lock"] == "clone"
    assert wait_task(api, upid)["exitstatus"] == "OK"
    clone = vm_resource(api, 110)
    assert (clone["node"], clone["name"], clone["status"], clone["template"]) == (
        "blade4", "kube06", "stopped", 0)
    assert "lock" not in clone
    config = api.nodes("blade4").qemu(110).config.get()
    assert config["scsi0"].startswith("ceph-rbd:base-9000-disk-0/vm-110-disk-0")
    assert "template" not in config


def test_cloning_onto_a_taken_id_fails_as_pve_does(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade1").qemu(9000).clone.post(newid=105, name="dup")
    assert exc.value.status_code == 500
    assert "unable to create VM 105: config file already exists" in str(exc.value)


def test_resize_grows_a_disk_and_refuses_to_shrink(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    assert wait_task(api, vm.resize.put(disk="scsi0", size="+16G"))["exitstatus"] == "OK"
    assert "size=80G" in vm.config.get()["scsi0"]
    assert wait_task(api, vm.resize.put(disk="scsi0", size="96G"))["exitstatus"] == "OK"
    assert vm.status.current.get()["maxdisk"] == 96 * 1024**3
    shrink = wait_task(api, vm.resize.put(disk="scsi0", size="32G"))
    assert shrink["exitstatus"] == "shrinking disks is not supported"
    missing = wait_task(api, vm.resize.put(disk="scsi1", size="+1G"))
    assert missing["exitstatus"] == "disk 'scsi1' does not exist"


def test_destroying_a_vm_needs_it_stopped_and_purge_when_ha_managed(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade1").qemu(101).delete()
    assert "used in HA resources and purge parameter not set" in str(exc.value)
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).delete()
    assert "VM 105 is running - destroy failed" in str(exc.value)
    wait_task(api, api.nodes("blade3").qemu(105).status.stop.post())
    upid = api.nodes("blade3").qemu(105).delete()
    assert ":qmdestroy:105:" in upid and wait_task(api, upid)["exitstatus"] == "OK"
    assert 105 not in [v["vmid"] for v in api.cluster.resources.get(type="vm")]


def test_memory_that_is_not_a_number_is_refused(api: ProxmoxAPI) -> None:
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).config.put(memory="lots")
    assert exc.value.status_code == 400
    assert "type check ('integer') failed - got 'lots'" in exc.value.errors["memory"]
