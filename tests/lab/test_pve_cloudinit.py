"""Cloud-init through proxmoxer as PVE does it: values checked with PVE's words, the password
hashed and hidden, a clone's own drive and generated files, and changes that reach a
running guest only at its next boot."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import agent_up, eth0_address, proxmox, wait_for, wait_task

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f ops@homelab"
CRYPT = re.compile(r"^\$5\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{43}$")


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("ipconfig0", "ip=bogus", "invalid format - format error\nipconfig0.ip: invalid format - value does not "
                              "look like a valid ipv4 network configuration\n\n"),
    ("ipconfig0", "ip=10.0.0.5/4", "invalid format - format error\nipconfig0.ip: invalid format - value "
                                   "does not look like a valid ipv4 network configuration\n\n"),
    ("ipconfig0", "gw=10.0.0.1", "invalid format - format error\nipconfig0.ip: missing property required "
                                 "by 'ipconfig0.gw'\n"),
    ("ipconfig0", "10.0.0.5/24", "invalid format - value without key, but schema does not define a default "
                                 "key\n"),
    ("ipconfig1", "ip6=fe80::1", "invalid format - format error\nipconfig1.ip6: invalid format - value does "
                                 "not look like a valid ipv6 network configuration\n\n"),
    ("nameserver", "1.1.1.1 not_an_ip", "invalid format - value does not look like a valid address: "
                                        "not_an_ip\n"),
    ("cicustom", "bogus=x", "invalid format - invalid key in comma-separated list property: bogus\n"),
    ("cicustom", "user=snippets.yaml", "invalid format - format error\ncicustom.user: invalid format - "
                                       "unable to parse volume ID 'snippets.yaml'\n\n"),
])
def test_malformed_cloud_init_values_are_refused_with_pves_field_errors(
        api: ProxmoxAPI, key: str, value: str, message: str) -> None:
    vm = api.nodes("blade3").qemu(105)
    before = vm.config.get()
    with pytest.raises(ResourceException) as exc:
        vm.config.put(**{key: value})
    assert exc.value.status_code == 400
    assert exc.value.errors == {key: message}
    assert vm.config.get() == before


def test_values_pve_accepts_are_kept(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    # `nameserver` is an address list: host names pass as on PVE; `searchdomain` has no format at all
    vm.config.put(ipconfig0="ip=192.168.1.60/24,gw=192.168.1.1,ip6=auto", nameserver="not-an-ip 1.1.1.1",
                  searchdomain="any thing", cicustom="user=local:snippets/user.yaml")
    config = vm.config.get()
    assert (config["ipconfig0"], config["nameserver"], config["searchdomain"], config["cicustom"]) == (
        "ip=192.168.1.60/24,gw=192.168.1.1,ip6=auto", "not-an-ip 1.1.1.1", "any thing",
        "user=local:snippets/user.yaml")


def test_ssh_keys_must_be_public_keys_once_decoded(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade1").qemu(9000)
    truncated = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9+/x= ops@homelab"
    for bad in ("not a key", truncated, "ssh-rsa " + KEY[12:]):
        with pytest.raises(ResourceException) as exc:
            vm.config.put(sshkeys=quote(bad, safe=""))
        assert exc.value.status_code == 500 and "SSH public key validation error" in str(exc.value)
    vm.config.put(sshkeys=quote(f"{KEY}\n\n{KEY.replace('ops@', 'dev@')}\n", safe=""))
    assert "ssh_authorized_keys:\n  - ssh-ed25519 " in vm.cloudinit.dump.get(type="user")


def test_the_password_is_stored_hashed_and_read_back_masked(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade1").qemu(9000)
    vm.config.put(cipassword="hunter2")
    assert vm.config.get()["cipassword"] == "**********"
    assert vm.config.get(current=1)["cipassword"] == "**********"
    assert {"key": "cipassword", "value": "**********"} in vm.pending.get()
    password = re.search(r"^password: (.*)$", vm.cloudinit.dump.get(type="user"), re.M)
    assert password is not None and CRYPT.match(password[1]) and "hunter2" not in password[1]
    given = "$6$rounds=4096$salt$hash"  # already a crypt hash: kept as it is
    vm.config.put(cipassword=given)
    assert f"password: {given}\n" in vm.cloudinit.dump.get(type="user")
    vm.config.put(ostype="win11")
    vm.config.put(cipassword="Clear-1")  # cloudbase-init takes it in clear, so PVE keeps it so
    assert "password: Clear-1\n" in vm.cloudinit.dump.get(type="user")
    assert vm.config.get()["cipassword"] == "**********"


def _clone(api: ProxmoxAPI, newid: int, name: str) -> Any:
    wait_task(api, api.nodes("blade1").qemu(9000).clone.post(newid=newid, name=name))
    return api.nodes("blade1").qemu(newid)


def test_a_clone_has_its_own_cloud_init_drive_and_generated_files(api: ProxmoxAPI) -> None:
    vm = _clone(api, 120, "kube06")
    assert vm.config.get()["ide2"] == "ceph-rbd:vm-120-cloudinit,media=cdrom"
    vm.config.put(ipconfig0="ip=192.168.1.126/24,gw=192.168.1.1", nameserver="192.168.1.1",
                  searchdomain="homelab.lan", sshkeys=quote(KEY, safe=""), cipassword="s3cret")
    user = vm.cloudinit.dump.get(type="user")
    hashed = re.search(r"^password: (.*)$", user, re.M)
    assert hashed is not None
    assert user == (
        "#cloud-config\nhostname: kube06\nmanage_etc_hosts: true\nfqdn: kube06.homelab.lan\nuser: ubuntu\n"
        f"password: {hashed[1]}\nssh_authorized_keys:\n  - {KEY}\nchpasswd:\n  expire: False\n"
        "users:\n  - default\npackage_upgrade: true\n")
    network = vm.cloudinit.dump.get(type="network")
    assert network == (
        "version: 1\nconfig:\n    - type: physical\n      name: eth0\n"
        "      mac_address: 'bc:24:11:00:00:78'\n      subnets:\n      - type: static\n"
        "        address: '192.168.1.126'\n"
        "        netmask: '255.255.255.0'\n        gateway: '192.168.1.1'\n"
        "    - type: nameserver\n      address:\n      - '192.168.1.1'\n"
        "      search:\n      - 'homelab.lan'\n")
    assert vm.config.get()["net0"].startswith("virtio=BC:24:11:00:00:78,")
    instance = hashlib.sha1((user + network).encode()).hexdigest()
    assert vm.cloudinit.dump.get(type="meta") == f"instance-id: {instance}\n"
    with pytest.raises(ResourceException) as exc:
        vm.cloudinit.dump.get(type="vendor")
    assert exc.value.status_code == 400 and "type" in exc.value.errors


def test_changes_on_a_running_guest_are_pending_until_its_next_boot(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "ubuntu"}]
    vm.config.put(ipconfig0="ip=192.168.1.77/24,gw=192.168.1.1", ciuser="ops", nameserver="192.168.1.1")
    # PVE applies cloud-init options to the config at once; the drive lags behind
    assert {"key": "ipconfig0", "value": "ip=192.168.1.77/24,gw=192.168.1.1"} in vm.pending.get()
    assert sorted(vm.cloudinit.get(), key=lambda i: i["key"]) == [
        {"key": "ciuser", "value": "ubuntu", "pending": "ops"},
        {"key": "ipconfig0", "pending": "ip=192.168.1.77/24,gw=192.168.1.1"},
        {"key": "nameserver", "pending": "192.168.1.1"}]
    assert eth0_address(vm) == "192.168.1.125"
    assert vm.cloudinit.put() is None  # the drive is regenerated; the running guest does not reread it
    assert sorted(vm.cloudinit.get(), key=lambda i: i["key"]) == [
        {"key": "ciuser", "value": "ops"}, {"key": "nameserver", "value": "192.168.1.1"}]
    assert eth0_address(vm) == "192.168.1.125"
    wait_task(api, vm.status.stop.post())
    wait_task(api, vm.status.start.post())
    wait_for(lambda: agent_up(vm), 10, "the agent after the boot")
    assert eth0_address(vm) == "192.168.1.77"


def test_a_deleted_option_shows_as_a_pending_delete(api: ProxmoxAPI) -> None:
    vm = api.nodes("blade3").qemu(105)
    vm.config.put(delete="ciuser")
    assert vm.cloudinit.get() == [{"key": "ciuser", "delete": 1}]
    vm.config.put(ciuser="ubuntu")  # back to what the drive has: nothing pending
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "ubuntu"}]


def test_attaching_a_cloud_init_drive_allocates_the_guests_own(api: ProxmoxAPI) -> None:
    wait_task(api, api.nodes("blade2").qemu.post(vmid=150, name="bare", scsi0="ceph-rbd:4"))
    vm = api.nodes("blade2").qemu(150)
    with pytest.raises(ResourceException) as exc:
        vm.config.put(ide2="nosuch:cloudinit")
    assert "storage 'nosuch' does not exist" in str(exc.value)
    vm.config.put(ide2="local:cloudinit")  # a directory storage keeps it as a qcow2 file
    assert vm.config.get()["ide2"] == "local:150/vm-150-cloudinit.qcow2,media=cdrom"
    with pytest.raises(ResourceException) as exc:
        vm.config.put(ide0="ceph-rbd:cloudinit")
    assert "ide0 - cloud-init drive is already attached at 'ide2'" in str(exc.value)
    vm.config.put(delete="ide2")
    vm.config.put(ide0="ceph-rbd:cloudinit")
    assert vm.config.get()["ide0"] == "ceph-rbd:vm-150-cloudinit,media=cdrom"
