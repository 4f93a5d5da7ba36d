"""Faults through the lab's control endpoint, seen by proxmoxer: slow/flaky API, locks, tasks, quorum."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import wait_task


def _api(lab: RunningLab, timeout: float = 5) -> ProxmoxAPI:
    host, port = lab.pve_url.removeprefix("https://").split(":")
    return ProxmoxAPI(host, port=int(port), user="root@pam", token_name="drewburr", timeout=timeout,
                      token_value=lab.server.token_secret, verify_ssl=lab.ca_file)


def _fault(lab: RunningLab, body: Any) -> requests.Response:
    url = json.loads((lab.workdir / "lab.json").read_text())["control_url"]
    return requests.post(f"{url}/lab/fault", data=json.dumps(body), timeout=10)


def _ok(lab: RunningLab, fault: str, target: object = None) -> str:
    answer = _fault(lab, {"fault": fault, "target": target})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["message"])


def test_a_slow_api_answers_late_until_cleared(running_lab: RunningLab) -> None:
    _ok(running_lab, "slow-api", "2")
    with pytest.raises(requests.exceptions.Timeout):
        _api(running_lab, timeout=0.3).version.get()
    _ok(running_lab, "api-ok")
    assert _api(running_lab).version.get()["release"] == "9.1"


def test_a_flaky_api_fails_with_the_chosen_status(running_lab: RunningLab) -> None:
    _ok(running_lab, "flaky-api", "1:595")
    with pytest.raises(ResourceException) as exc:
        _api(running_lab).cluster.ceph.status.get()
    assert exc.value.status_code == 595
    _ok(running_lab, "flaky-api", "1")
    with pytest.raises(ResourceException) as exc:
        _api(running_lab).version.get()
    assert exc.value.status_code == 500 and "got timeout" in str(exc.value)
    _ok(running_lab, "api-ok")
    assert _api(running_lab).version.get()


def test_a_held_lock_shows_in_the_vm_config_until_released(running_lab: RunningLab) -> None:
    assert _ok(running_lab, "hold-lock", 105) == "VM 105 config locked (backup)"  # a JSON number is fine
    assert _api(running_lab).nodes("blade3").qemu(105).config.get()["lock"] == "backup"
    _ok(running_lab, "release-lock", "105")
    assert "lock" not in _api(running_lab).nodes("blade3").qemu(105).config.get()


def test_the_next_task_of_a_kind_fails_with_the_given_message(running_lab: RunningLab) -> None:
    _ok(running_lab, "fail-next-task", "qmshutdown:shutdown timed out")
    api = _api(running_lab)
    upid = api.nodes("blade3").qemu(105).status.shutdown.post()
    assert wait_task(api, upid)["exitstatus"] == "shutdown timed out"


def test_losing_quorum_shows_in_cluster_status(running_lab: RunningLab) -> None:
    _ok(running_lab, "lose-quorum")
    cluster = next(e for e in _api(running_lab).cluster.status.get() if e["type"] == "cluster")
    assert cluster["quorate"] == 0
    _ok(running_lab, "regain-quorum")
    cluster = next(e for e in _api(running_lab).cluster.status.get() if e["type"] == "cluster")
    assert cluster["quorate"] == 1


@pytest.mark.parametrize(("body", "expected"), [
    ({"fault": "explode", "target": "blade1"}, "unknown fault 'explode'; faults: power-off, power-on"),
    ({"fault": "power-off", "target": "blade9"}, "unknown blade 'blade9'; blades: blade1, blade2, blade3"),
    ({"fault": "osd-down", "target": "osd.7"}, "unknown OSD 'osd.7'; OSDs: osd.0, osd.1, osd.2, osd.3"),
    ({"fault": "hold-lock", "target": "²"}, "unknown VM '²'; VMs: 101, 102"),
    ({"fault": "osd-down", "target": "osd.²"}, "unknown OSD 'osd.²'; OSDs: osd.0"),
    ({"fault": "flaky-api", "target": "0.5:²"}, "flaky-api status must be one of 500, 595"),
    ({"fault": "hold-lock", "target": "105:party"}, "unknown lock 'party'; locks: backup, clone"),
    ({"fault": "flaky-api", "target": "2"}, "flaky-api FRACTION must be a number from 0 to 1, got '2'"),
    ({"fault": "flaky-api", "target": "0.5:abc"}, "flaky-api status must be one of 500, 595"),
    ({"fault": "power-off"}, "no blade given; blades: blade1, blade2"),
    ({"fault": "power-off", "target": ["blade1"]}, 'the target must be a string, got ["blade1"]'),
    ({"fault": "hold-lock", "target": None}, "no VM given; VMs: 101, 102"),
    ("power-off blade1", 'the body must be JSON like {"fault": "power-off", "target": "blade3"}'),
])
def test_bad_fault_input_is_refused_naming_the_valid_choices(running_lab: RunningLab, body: Any,
                                                             expected: str) -> None:
    answer = _fault(running_lab, body)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(expected)
    assert "power-off" in answer.json()["faults"]


def test_a_bad_vm_is_refused_with_the_faults_own_target_form(running_lab: RunningLab) -> None:
    assert _fault(running_lab, {"fault": "hold-lock", "target": "999"}).json()["error"].endswith(
        "(target VMID[:LOCK])")
    assert _fault(running_lab, {"fault": "release-lock", "target": "999"}).json()["error"].endswith(
        "(target VMID)")


def test_lab_status_shows_a_vm_whatever_memory_its_config_holds(running_lab: RunningLab) -> None:
    _api(running_lab).nodes("blade1").qemu(9000).config.put(memory="9" * 400)  # PVE stores it as given
    url = json.loads((running_lab.workdir / "lab.json").read_text())["control_url"]
    vms = {v["vmid"]: v for v in requests.get(f"{url}/lab/status", timeout=10).json()["vms"]}
    assert vms[9000]["memory_gib"] == float("inf") and vms[105]["memory_gib"] == 6.0
