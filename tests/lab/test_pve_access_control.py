"""Roles, users, tokens and ACLs through proxmoxer, as `pveum` makes them: a privilege-separated
token holds what its ACLs grant (and its user holds), bad input gets pve-access-control's answers,
and a limited token may not grant itself more."""

from __future__ import annotations

import pytest
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab

from .pve_client import proxmox


def refused(call, *args, **kwargs) -> ResourceException:
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_separated_token_holds_what_its_acl_grants_and_its_user_holds(running_lab: RunningLab) -> None:
    root = proxmox(running_lab)
    root.access.roles.post(roleid="Reader", privs="Sys.Audit,VM.Audit")
    root.access.roles.post(roleid="Mover", privs="VM.Migrate VM.Audit")
    root.access.users.post(userid="ops@pve")
    made = root.access.users("ops@pve").token("cli").post(privsep=1)
    assert made["full-tokenid"] == "ops@pve!cli" and made["info"]["privsep"] == 1
    as_token = proxmox(running_lab, "cli", made["value"], user="ops@pve")
    assert as_token.access.permissions.get(path="/")["/"] == {}  # no ACL yet: nothing
    root.access.acl.put(path="/", users="ops@pve", roles="Reader,Mover")
    root.access.acl.put(path="/vms", tokens="ops@pve!cli", roles="Mover")
    assert set(as_token.access.permissions.get(path="/")["/"]) == {"VM.Migrate", "VM.Audit"}
    denied = refused(as_token.cluster.status.get)  # Sys.Audit: its user's, not the token's
    assert denied.status_code == 403 and "Sys.Audit" in str(denied)
    root.access.acl.put(path="/vms", tokens="ops@pve!cli", roles="Mover", delete=1)
    assert as_token.access.permissions.get(path="/")["/"] == {}


def test_bad_input_gets_pve_access_controls_answers(running_lab: RunningLab) -> None:
    root = proxmox(running_lab)
    root.access.roles.post(roleid="Reader", privs="Sys.Audit")
    namespace = refused(root.access.roles.post, roleid="PVEMine", privs="Sys.Audit")
    assert namespace.status_code == 400 and "'PVE' namespace" in str(namespace.errors)
    again = refused(root.access.roles.post, roleid="Reader")
    assert again.status_code == 500 and "create role failed: role 'Reader' already exists" in str(again)
    bad = refused(root.access.roles.post, roleid="Typo", privs="Sys.Audti")
    assert "invalid privilege 'Sys.Audti'" in str(bad)
    no_user = refused(root.access.users("ghost@pve").token("t").post)
    assert "no such user ('ghost@pve')" in str(no_user)
    nobody = refused(root.access.acl.put, path="/", roles="Reader")
    assert nobody.status_code == 400 and set(nobody.errors) == {"users", "groups", "tokens"}
    no_role = refused(root.access.acl.put, path="/", users="root@pam", roles="Ghost")
    assert "ACL update failed: role 'Ghost' does not exist" in str(no_role)
    no_token = refused(root.access.acl.put, path="/", tokens="root@pam!ghost", roles="Reader")
    assert "no such token 'ghost' for user 'root@pam'" in str(no_token)
    root.access.users("root@pam").token("twice").post()
    twice = refused(root.access.users("root@pam").token("twice").post)
    assert twice.status_code == 400 and "Token already exists." in str(twice.errors)


def test_a_limited_token_may_not_grant_itself_more(running_lab: RunningLab) -> None:
    root = proxmox(running_lab)
    root.access.roles.post(roleid="Reader", privs="Sys.Audit")
    root.access.users.post(userid="ops@pve")
    made = root.access.users("ops@pve").token("cli").post(privsep=0)  # its user's privileges
    root.access.acl.put(path="/", users="ops@pve", roles="Reader")
    as_token = proxmox(running_lab, "cli", made["value"], user="ops@pve")
    assert as_token.cluster.status.get()
    grant_admin = {"path": "/", "users": "ops@pve", "roles": "Administrator"}
    for call, kwargs in ((as_token.access.roles.post, {"roleid": "Mine", "privs": "Sys.Modify"}),
                         (as_token.access.acl.put, grant_admin),
                         (as_token.access.users("ops@pve").token("more").post, {})):
        assert refused(call, **kwargs).status_code == 403, call
