"""The PVE API schema checks, in pve-common's JSONSchema wording."""

from __future__ import annotations

import pytest

from lab.pve.schema import ApiSchema, NotImplementedMethod
from lab.pve.validate import NOT_DEFINED, check_parameters, normalize


@pytest.fixture(scope="module")
def schema() -> ApiSchema:
    return ApiSchema.load()


def errors_for(schema: ApiSchema, method: str, path: str, **params: object) -> dict[str, str]:
    _, info, uri = schema.lookup(method, path)
    parameters = info["parameters"]
    return check_parameters(parameters, normalize({**params, **uri}, parameters))


def test_literal_segments_win_over_templates(schema: ApiSchema) -> None:
    path, _, uri = schema.lookup("GET", "/nodes/blade1/qemu/101/status/current")
    assert path == "/nodes/{node}/qemu/{vmid}/status/current"
    assert uri == {"node": "blade1", "vmid": "101"}
    assert schema.lookup("GET", "/cluster/ceph/flags")[0] == "/cluster/ceph/flags"


def test_an_unknown_path_or_method_is_not_implemented(schema: ApiSchema) -> None:
    with pytest.raises(NotImplementedMethod, match=r"Method 'GET /nodes/blade1/bogus' not implemented"):
        schema.lookup("GET", "/nodes/blade1/bogus")
    with pytest.raises(NotImplementedMethod) as exc:
        schema.lookup("DELETE", "/cluster/ceph/flags/noout")
    assert exc.value.status == 501


def test_unknown_and_missing_parameters(schema: ApiSchema) -> None:
    errors = errors_for(schema, "POST", "/nodes/blade1/qemu/101/migrate", online="1", speed="fast")
    assert errors == {"target": "property is missing and it is not optional", "speed": NOT_DEFINED}


def test_type_checks_use_pve_wording(schema: ApiSchema) -> None:
    assert errors_for(schema, "PUT", "/cluster/ceph/flags/noout", value="yes") == {
        "value": "type check ('boolean') failed - got 'yes'"}
    assert errors_for(schema, "POST", "/nodes/blade1/qemu/101/migrate", target="blade2",
                      bwlimit="abc") == {"bwlimit": "type check ('integer') failed - got 'abc'"}
    assert errors_for(schema, "PUT", "/cluster/ceph/flags/noout", value=True) == {}


def test_enum_minimum_and_formats(schema: ApiSchema) -> None:
    assert errors_for(schema, "GET", "/cluster/ceph/flags/sleepy")["flag"].startswith(
        "value 'sleepy' does not have a value in the enumeration 'nobackfill, nodeep-scrub,")
    assert errors_for(schema, "POST", "/nodes/blade1/qemu/101/migrate", target="blade2", bwlimit="-1") == {
        "bwlimit": "value must have a minimum value of 0"}
    assert errors_for(schema, "GET", "/nodes/bad_name/qemu") == {
        "node": "invalid format - value does not look like a valid node name\n"}
    assert errors_for(schema, "GET", "/nodes/blade1/qemu/42/status/current") == {
        "vmid": "invalid format - value does not look like a valid VM ID\n"}


def test_a_single_form_value_counts_as_a_one_item_array(schema: ApiSchema) -> None:
    assert errors_for(schema, "POST", "/nodes/blade1/qemu/101/agent/exec", command="uptime") == {}
    assert errors_for(schema, "POST", "/nodes/blade1/qemu/101/agent/exec", command=["ls", "-l"]) == {}


def test_names_config_ids_and_lists_are_checked_by_format(schema: ApiSchema) -> None:
    vm = "/nodes/blade1/qemu/101"
    assert errors_for(schema, "POST", f"{vm}/clone", newid="120", name="web_01") == {
        "name": "invalid format - value does not look like a valid DNS name\n"}
    assert errors_for(schema, "PUT", f"{vm}/config", name="kube06.lab") == {}
    assert errors_for(schema, "PUT", f"{vm}/config", delete="cores;1x") == {
        "delete": "invalid format - invalid configuration ID '1x'\n"}
    assert errors_for(schema, "POST", "/nodes/blade1/migrateall", target="blade2", vms="101, 42") == {
        "vms": "invalid format - value does not look like a valid VM ID\n"}
    assert errors_for(schema, "PUT", f"{vm}/config", sshkeys="ssh-ed25519 AAAA") == {
        "sshkeys": "invalid format - invalid urlencoded string: ssh-ed25519 AAAA\n"}
