"""API permissions in pve-access-control's wording, from the schema's `permissions` of a method."""

from __future__ import annotations

import pytest

from lab.pve.permissions import AUDITOR, PermissionDenied, check_api2_permissions
from lab.pve.schema import ApiSchema

CLONER = frozenset({"VM.Clone"})


def perm(method: str, path: str) -> dict[str, object]:
    return ApiSchema.load().lookup(method, path)[1]["permissions"]


def refusal(perm: dict[str, object], privileges: frozenset[str], **params: object) -> str | None:
    try:
        check_api2_permissions(perm, privileges, params)
    except PermissionDenied as exc:
        assert exc.status == 403
        return exc.message
    return None


def test_a_full_token_and_open_methods_pass() -> None:
    assert refusal(perm("POST", "/nodes/n/qemu/101/status/stop"), None) is None  # type: ignore[arg-type]
    assert refusal(perm("GET", "/cluster/resources"), frozenset()) is None  # user: all


def test_all_privileges_name_the_first_missing_one_any_names_them_all() -> None:
    assert refusal(perm("POST", "/nodes/n/qemu/105/status/stop"), AUDITOR, vmid="105") == \
        "Permission check failed (/vms/105, VM.PowerMgmt)"
    interfaces = perm("GET", "/nodes/n/qemu/105/agent/network-get-interfaces")
    assert refusal(interfaces, frozenset(), vmid="105") == \
        "Permission check failed (/vms/105, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)"


@pytest.mark.parametrize(("privileges", "params", "expected"), [
    (CLONER | {"VM.Allocate"}, {"newid": "150"}, None),
    (CLONER, {"newid": "150"}, "Permission check failed"),  # no VM.Allocate on /vms/150, no pool given
    (frozenset({"VM.Allocate"}), {"newid": "150"}, "Permission check failed (/vms/9000, VM.Clone)"),
])
def test_and_or_and_require_param(privileges: frozenset[str], params: dict[str, str],
                                  expected: str | None) -> None:
    assert refusal(perm("POST", "/nodes/n/qemu/9000/clone"), privileges, vmid="9000", **params) == expected
