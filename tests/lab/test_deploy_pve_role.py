"""The DrewburrOperator PVE role (deploy/proxmox/drewburr-operator.sh, listed in the README) is exactly
enough: test_deploy_kubernetes runs every verb with a token holding it; here each privilege, taken away,
makes the verb that needs it refuse (before anything changes) or fail with PVE's 403."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.deployed import (
    PVE_ROLE_SCRIPT,
    ROOT,
    drewburr,
    drewburr_config,
    operator_privileges,
    pve_token,
    pveum,
)
from tests.lab.kube import kubeconfig
from tests.lab.pve_client import proxmox
from tests.scenarios.opsctx import pve_client

PROVISION = "provision kube09 --yes"
# privilege -> (the verb that needs it, the exit code without it, what it says)
NEEDED_BY = {
    "Sys.Audit": ("status", 1, "Permission check failed (/, Sys.Audit)"),
    "Sys.Modify": ("drain blade3 --yes", 2, "PVE Sys.Modify on /"),
    "Sys.PowerMgmt": ("reboot blade3 --yes", 2, "PVE Sys.PowerMgmt on /nodes/blade3"),
    "VM.Audit": ("reboot blade3 --yes", 2, "PVE VM.Audit on /vms"),  # it would see blade3 empty
    "VM.Migrate": ("drain blade3 --yes", 2, "PVE VM.Migrate on /vms/103"),
    "VM.Clone": (PROVISION, 2, "PVE VM.Clone on /vms/9000"),
    "Datastore.AllocateSpace": (PROVISION, 2, "PVE Datastore.AllocateSpace on /storage/ceph-rbd"),
    "VM.Allocate": (PROVISION, 2, "PVE VM.Allocate on /vms"),
    "VM.Config.Cloudinit": (PROVISION, 2, "PVE VM.Config.Cloudinit on /vms"),
    "VM.Config.CPU": (PROVISION, 2, "PVE VM.Config.CPU on /vms"),
    "VM.Config.Memory": (PROVISION, 2, "PVE VM.Config.Memory on /vms"),
    "VM.Config.Disk": (PROVISION, 2, "PVE VM.Config.Disk on /vms"),
    "VM.PowerMgmt": (PROVISION, 2, "PVE VM.PowerMgmt on /vms"),
    "VM.GuestAgent.Unrestricted": (PROVISION, 2, "PVE VM.GuestAgent.Unrestricted on /vms"),
    "Sys.Console": (PROVISION, 2, "PVE Sys.Console on /"),
}


def test_the_readme_lists_the_roles_privileges_and_each_has_a_verb_that_needs_it() -> None:
    privileges = operator_privileges()
    assert set(NEEDED_BY) == privileges
    readme = (ROOT / "README.md").read_text()
    assert f'--privs "{" ".join(sorted(privileges))}"' in readme


def test_the_role_script_makes_a_token_holding_exactly_the_role(kube_lab: RunningLab) -> None:
    """deploy/proxmox/drewburr-operator.sh, its pveum lines made as the API calls pveum makes."""
    ((token_id, secret),) = pveum(kube_lab, PVE_ROLE_SCRIPT.read_text()).items()
    assert token_id == "drewburr@pve!bot"
    user, _, name = token_id.partition("!")
    as_token = proxmox(kube_lab, name, secret, user=user)
    held = as_token.access.permissions.get(path="/vms/103")["/vms/103"]
    assert set(held) == operator_privileges()
    assert as_token.cluster.status.get()  # Sys.Audit
    with pytest.raises(ResourceException) as refused:  # Realm.AllocateUser: not the role's
        as_token.access.users.post(userid="intruder@pve")
    assert refused.value.status_code == 403


def _untouched(pve: ProxmoxAPI) -> None:
    assert not any(f.get("value") for f in pve.cluster.ceph.flags.get() if f["name"] == "noout")
    on_blade3 = sorted(e["vmid"] for e in pve.cluster.resources.get(type="vm") if e.get("node") == "blade3")
    assert on_blade3 == [103, 105]


@pytest.mark.parametrize("privilege", sorted(NEEDED_BY))
def test_without_one_privilege_its_verb_is_refused(kube_lab: RunningLab, tmp_path, privilege: str) -> None:
    token = pve_token(kube_lab, operator_privileges() - {privilege})
    config = drewburr_config(kube_lab, tmp_path / "drewburr.yaml", kubeconfig(kube_lab), token)
    line, exit_code, says = NEEDED_BY[privilege]
    code, out = drewburr(config, line)
    assert code == exit_code, out
    assert says in " ".join(out.split()), out
    _untouched(pve_client(kube_lab))
