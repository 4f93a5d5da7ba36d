"""A second opinion on cloud-init values, clones, create and storages: the lab and fakepve (an
independent fake with PVE's checks) refuse the same calls with the same status and words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import kind, proxmox

Call = Callable[[ProxmoxAPI], Any]
CALLS: dict[str, Call] = {
    "ipconfig ip": lambda a: a.nodes("blade3").qemu(105).config.put(ipconfig0="ip=bogus"),
    "ipconfig gw alone": lambda a: a.nodes("blade3").qemu(105).config.put(ipconfig0="gw=10.0.0.1"),
    "ipconfig no key": lambda a: a.nodes("blade3").qemu(105).config.put(ipconfig0="10.0.0.5/24"),
    "nameserver": lambda a: a.nodes("blade3").qemu(105).config.put(nameserver="1.1.1.1 not_an_ip"),
    "clone nosuch": lambda a: a.nodes("blade1").qemu(9000).clone.post(newid=130, full=1, storage="nosuch"),
    "clone local": lambda a: a.nodes("blade1").qemu(9000).clone.post(newid=130, full=1, storage="local"),
    "clone not shared": lambda a: a.nodes("blade1").qemu(9000).clone.post(
        newid=130, full=1, storage="local-lvm", target="blade2"),
    "linked with storage": lambda a: a.nodes("blade1").qemu(9000).clone.post(newid=130, storage="ceph-rbd"),
    "linked with format": lambda a: a.nodes("blade1").qemu(9000).clone.post(newid=130, format="raw"),
    "clone a snapshot": lambda a: a.nodes("blade1").qemu(9000).clone.post(newid=130, snapname="pre"),
    "linked from a vm": lambda a: a.nodes("blade3").qemu(105).clone.post(newid=131, full=0),
    "clone taken": lambda a: a.nodes("blade1").qemu(9000).clone.post(newid=105),
    "create taken": lambda a: a.nodes("blade2").qemu.post(vmid=105, name="again"),
    "create nosuch": lambda a: a.nodes("blade2").qemu.post(vmid=141, scsi0="nosuch:8"),
    "template running": lambda a: a.nodes("blade3").qemu(105).template.post(),
    "template again": lambda a: a.nodes("blade1").qemu(9000).template.post(),
    "storage nosuch": lambda a: a.nodes("blade1").storage.get(storage="nosuch"),
    "storage status nosuch": lambda a: a.nodes("blade1").storage("nosuch").status.get(),
}


def _answer(api: ProxmoxAPI, call: Call) -> tuple[int, str, Any]:
    try:
        call(api)
    except ResourceException as exc:
        return exc.status_code, exc.content, exc.errors
    return 200, "", None


@pytest.fixture
def fake_api(fakepve: Any, fakepve_cafile: str) -> ProxmoxAPI:
    """fakepve holding what the lab's seed holds for these calls."""
    fakepve.apitokens["root@pam!drewburr"] = "secret"
    for node in ("blade1", "blade2", "blade3"):
        fakepve.add_node(node)
    fakepve.add_ceph_storage("ceph-rbd")
    fakepve.add_vm(9000, "ubuntu-2404-cloudinit", node="blade1", template=True, config={
        "scsi0": "ceph-rbd:base-9000-disk-0,size=8G", "ide2": "ceph-rbd:vm-9000-cloudinit,media=cdrom",
        "net0": "virtio=BC:24:11:00:23:28,bridge=vmbr0"})
    fakepve.add_vm(105, "kube05", node="blade3", status="running", config={
        "scsi0": "ceph-rbd:vm-105-disk-0,size=64G", "net0": "virtio=BC:24:11:00:00:69,bridge=vmbr0"})
    host, port = fakepve.url.split("//")[1].split("/")[0].rsplit(":", 1)
    return ProxmoxAPI(host, port=int(port), user="root@pam", token_name="drewburr", token_value="secret",
                      verify_ssl=fakepve_cafile)


def test_the_lab_refuses_as_fakepve_refuses(running_lab: RunningLab, fake_api: ProxmoxAPI) -> None:
    lab_api = proxmox(running_lab)
    answers = {name: (_answer(lab_api, call), _answer(fake_api, call)) for name, call in CALLS.items()}
    assert all(lab[0] in (400, 500) for lab, _ in answers.values())  # each one is a refusal
    ours, theirs = ({name: pair[i] for name, pair in answers.items()} for i in (0, 1))
    assert ours == theirs


def test_storage_entries_have_the_keys_and_types_fakepve_gives(running_lab: RunningLab,
                                                              fake_api: ProxmoxAPI) -> None:
    ours = {s["storage"]: s for s in proxmox(running_lab).nodes("blade1").storage.get(content="images")}
    theirs = {s["storage"]: s for s in fake_api.nodes("blade1").storage.get(content="images")}
    assert set(ours) == set(theirs) == {"ceph-rbd", "local-lvm"}
    for sid, entry in theirs.items():
        assert {k: kind(v) for k, v in ours[sid].items()} == {k: kind(v) for k, v in entry.items()}
