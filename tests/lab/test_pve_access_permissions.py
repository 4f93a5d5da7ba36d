"""`GET /access/permissions` through proxmoxer: what a token may do, as pve-access-control dumps it."""

from __future__ import annotations

import json

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab

from .pve_client import proxmox


def auditor(lab: RunningLab) -> ProxmoxAPI:
    info = json.loads((lab.workdir / "lab.json").read_text())["auditor_token"]
    user, _, name = info["token_id"].partition("!")
    host, port = lab.pve_url.removeprefix("https://").split(":")
    return ProxmoxAPI(host, port=int(port), user=user, token_name=name, token_value=info["token_secret"],
                      verify_ssl=lab.ca_file)


def test_an_unlimited_token_holds_every_privilege_propagated(running_lab):
    tree = proxmox(running_lab).access.permissions.get(path="/vms/103")
    assert list(tree) == ["/vms/103"]
    assert tree["/vms/103"]["VM.Migrate"] == 1 and tree["/vms/103"]["Sys.Modify"] == 1
    whole = proxmox(running_lab).access.permissions.get()
    assert {"/", "/vms", "/nodes", "/storage"} <= set(whole)


def test_the_auditor_token_holds_only_its_audit_privileges(running_lab):
    held = auditor(running_lab).access.permissions.get(path="/")["/"]
    assert "Sys.Audit" in held and "VM.Audit" in held
    assert "Sys.Modify" not in held and "VM.Migrate" not in held


def test_a_token_may_dump_its_own_permissions_and_a_bad_userid_is_400(running_lab):
    own = auditor(running_lab).access.permissions.get(userid="root@pam!auditor", path="/")
    assert "Sys.Modify" not in own["/"]
    with pytest.raises(ResourceException) as bad:
        proxmox(running_lab).access.permissions.get(userid="not a user")
    assert bad.value.status_code == 400 and "userid" in str(bad.value.errors)


def test_cluster_resources_hides_what_a_token_may_not_audit(running_lab):
    pve = running_lab.lab.pve

    def limited() -> None:  # a privilege-separated token with neither VM.Audit nor Sys.Audit
        pve.tokens["root@pam!blind"] = "blind-secret"
        pve.privileges["root@pam!blind"] = frozenset({"VM.Migrate"})

    running_lab.call(limited)
    host, port = running_lab.pve_url.removeprefix("https://").split(":")
    blind = ProxmoxAPI(host, port=int(port), user="root@pam", token_name="blind", token_value="blind-secret",
                       verify_ssl=running_lab.ca_file)
    seen = blind.cluster.resources.get()
    assert not [e for e in seen if e["type"] in ("qemu", "lxc", "storage")]  # no error: just not there
    nodes = [e for e in seen if e["type"] == "node"]
    assert len(nodes) == 4 and all("maxmem" not in e and e["status"] == "online" for e in nodes)
    assert [e for e in proxmox(running_lab).cluster.resources.get() if e["type"] == "qemu"]

