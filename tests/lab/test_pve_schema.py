"""Every route the lab serves exists in PVE's own API schema; what the schema refuses, the lab refuses."""

from __future__ import annotations

import re

import pytest
import requests
from proxmoxer.core import ResourceException

from lab.clock import ManualClock
from lab.pve.app import make_app
from lab.pve.schema import ApiSchema
from lab.pve.validate import NOT_DEFINED
from lab.scenario import load_scenario
from lab.world import Lab
from tests.conftest import RunningLab
from tests.lab.pve_client import proxmox


def test_every_route_the_lab_serves_is_in_the_pve_schema_with_its_method() -> None:
    app = make_app(Lab(load_scenario(None), ManualClock()))
    schema = ApiSchema.load()
    served = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # aiohttp adds HEAD to every GET
            continue
        path = route.resource.canonical.removeprefix("/api2/json")  # type: ignore[union-attr]
        template = re.sub(r"\{(\w+)[^}]*\}", r"{\1}", path)
        served.add((route.method, template))
    missing = sorted((m, p) for m, p in served if m not in schema.methods(p))
    assert not missing
    assert ("PUT", "/cluster/ceph/flags/{flag}") in served


def test_an_unknown_parameter_gets_pves_400_with_the_field(running_lab: RunningLab) -> None:
    with pytest.raises(ResourceException) as exc:
        proxmox(running_lab).cluster.ceph.flags.noout.put(value=1, force=1)
    assert exc.value.status_code == 400
    assert exc.value.errors == {"force": NOT_DEFINED}


def test_a_bad_value_and_a_missing_parameter_get_field_errors(running_lab: RunningLab) -> None:
    url = f"{running_lab.pve_url}/api2/json/cluster/ceph/flags/noout"
    headers = {"Authorization": f"PVEAPIToken=root@pam!drewburr={running_lab.server.token_secret}"}
    answer = requests.put(url, data={"value": "maybe"}, headers=headers, verify=running_lab.ca_file,
                          timeout=10)
    assert (answer.status_code, answer.reason) == (400, "Parameter verification failed.")
    assert answer.json() == {"data": None, "message": "Parameter verification failed.\n",
                             "errors": {"value": "type check ('boolean') failed - got 'maybe'"}}
    missing = requests.put(url, json={}, headers=headers, verify=running_lab.ca_file, timeout=10)
    assert missing.json()["errors"] == {"value": "property is missing and it is not optional"}


def test_a_path_pve_does_not_have_is_not_implemented(running_lab: RunningLab) -> None:
    with pytest.raises(ResourceException) as exc:
        proxmox(running_lab).nodes("blade1").bogus.get()
    assert exc.value.status_code == 501
    assert "Method 'GET /nodes/blade1/bogus' not implemented" in str(exc.value)


def test_malformed_json_and_lab_bugs_get_pve_shaped_500s(running_lab: RunningLab) -> None:
    url = f"{running_lab.pve_url}/api2/json/cluster/ceph/flags/noout"
    headers = {"Authorization": f"PVEAPIToken=root@pam!drewburr={running_lab.server.token_secret}",
               "Content-Type": "application/json"}
    answer = requests.put(url, data="{value: 1", headers=headers, verify=running_lab.ca_file, timeout=10)
    assert answer.status_code == 500 and answer.reason.startswith("malformed JSON string")

    def broken(now: float) -> None:
        raise RuntimeError("boom")

    running_lab.call(setattr, running_lab.lab.ceph, "cluster_ceph_status", broken)
    answer = requests.get(f"{running_lab.pve_url}/api2/json/cluster/ceph/status", headers=headers,
                          verify=running_lab.ca_file, timeout=10)
    assert answer.status_code == 500
    assert answer.json() == {"data": None, "message": "internal error - RuntimeError: boom\n"}


def test_a_body_that_is_not_utf8_or_too_large_gets_pves_answer(running_lab: RunningLab) -> None:
    url = f"{running_lab.pve_url}/api2/json/nodes/blade1/qemu/101/config"
    headers = {"Authorization": f"PVEAPIToken=root@pam!drewburr={running_lab.server.token_secret}",
               "Content-Type": "application/x-www-form-urlencoded"}
    garbage = requests.put(url, data=b"\xff\xfe=\x80", headers=headers, verify=running_lab.ca_file,
                           timeout=10)
    assert garbage.status_code == 400
    assert list(garbage.json()["errors"].values()) == [NOT_DEFINED]
    huge = requests.put(url, data=b"description=" + b"a" * 600_000, headers=headers,
                        verify=running_lab.ca_file, timeout=10)
    assert (huge.status_code, huge.reason) == (501, "for data too large")


def test_a_body_pveproxy_cannot_take_is_refused_as_it_refuses_it(running_lab: RunningLab) -> None:
    base = f"{running_lab.pve_url}/api2/json"
    auth = {"Authorization": f"PVEAPIToken=root@pam!drewburr={running_lab.server.token_secret}"}
    xml = requests.put(f"{base}/cluster/ceph/flags/noout", data="<value>1</value>",
                       headers={**auth, "Content-Type": "text/xml"}, verify=running_lab.ca_file, timeout=10)
    assert (xml.status_code, xml.reason) == (506, "upload 'Content-Type 'text/xml' not implemented")
    get = requests.get(f"{base}/version", data="x=1", headers=auth, verify=running_lab.ca_file, timeout=10)
    assert (get.status_code, get.reason) == (501, "Unexpected content for method 'GET'")


@pytest.mark.parametrize("method", ["PATCH", "HEAD", "OPTIONS"])
def test_a_method_pveproxy_does_not_know_is_not_available(running_lab: RunningLab, method: str) -> None:
    answer = requests.request(method, f"{running_lab.pve_url}/api2/json/version", verify=running_lab.ca_file,
                              timeout=10)  # before authentication, as on PVE
    assert (answer.status_code, answer.reason) == (501, f"method '{method}' not available")
