"""A blade cut off by a network partition (`lose-quorum BLADE`), seen through proxmoxer and
`drewburr lab fault`: the rest stays quorate, the blade answers 595, HA recovers its VMs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from lab.scenario import load_scenario
from tests.conftest import RunningLab
from tests.lab.pve_client import proxmox, vm_resource, wait_for
from tests.lab.test_lab_cli import _drewburr
from tests.lab.test_lab_metrics import _scrape, _value
from tests.lab.test_lab_up import lab_up


@pytest.fixture
def running_lab(tmp_path: Path) -> Iterator[RunningLab]:
    """The default homelab at 200 lab seconds per real second: HA recovery takes about a real second."""
    with RunningLab(tmp_path / "lab", load_scenario(None), time_scale=200) as lab:
        yield lab


@pytest.fixture
def api(running_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(running_lab)


def _fault(lab: RunningLab, fault: str, target: str | None) -> requests.Response:
    url = json.loads((lab.workdir / "lab.json").read_text())["control_url"]
    return requests.post(f"{url}/lab/fault", data=json.dumps({"fault": fault, "target": target}), timeout=10)


def _node(api: ProxmoxAPI, name: str) -> dict[str, Any]:
    return next(e for e in api.cluster.status.get() if e.get("name") == name)


def test_the_quorate_rest_sees_the_isolated_blade_offline_and_gets_595(
        running_lab: RunningLab, api: ProxmoxAPI) -> None:
    answer = _fault(running_lab, "lose-quorum", "blade3")
    assert answer.json()["message"] == "blade3 cut off from the cluster (the rest is quorate)"
    status = api.cluster.status.get()
    assert status[0]["quorate"] == 1
    assert _node(api, "blade3")["online"] == 0 and _node(api, "blade4")["online"] == 1
    assert api.cluster.ha.status.current.get()[0]["status"] == "OK"
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").qemu(105).status.current.get()
    assert exc.value.status_code == 595 and "Connection timed out" in str(exc.value)
    assert api.nodes("blade4").qemu(104).config.put(description="still writable") is None


def test_ha_vms_of_an_isolated_blade_come_back_on_another_and_the_blade_rejoins(
        running_lab: RunningLab, api: ProxmoxAPI) -> None:
    _fault(running_lab, "lose-quorum", "blade3")
    assert vm_resource(api, 103)["hastate"] == "fence"
    recovered = wait_for(lambda: (vm := vm_resource(api, 103))["node"] != "blade3"
                         and vm["status"] == "running" and vm, 10, "vm:103 recovered elsewhere")
    assert recovered["hastate"] == "started"
    assert vm_resource(api, 105)["status"] == "stopped"  # not HA: it died in blade3's watchdog reset
    ceph = api.cluster.ceph.status.get()
    assert "blade3" not in ceph["quorum_names"] and ceph["osdmap"]["num_up_osds"] == 3
    assert _fault(running_lab, "regain-quorum", "blade3").json()["message"] == "blade3 rejoined the cluster"
    wait_for(lambda: _node(api, "blade3")["online"] == 1, 5, "blade3 online after its reboot")
    wait_for(lambda: vm_resource(api, 105)["status"] == "running", 5, "vm:105 started on boot")


def test_isolating_two_of_four_blades_loses_quorum(running_lab: RunningLab, api: ProxmoxAPI) -> None:
    _fault(running_lab, "lose-quorum", "blade3")
    answer = _fault(running_lab, "lose-quorum", "blade4")
    assert answer.json()["message"] == "blade4 cut off from the cluster (the rest is not quorate)"
    assert api.cluster.status.get()[0]["quorate"] == 0
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade1").qemu(101).config.put(description="x")
    assert exc.value.status_code == 500 and "cluster not ready - no quorum?" in str(exc.value)


def test_an_unknown_blade_is_refused_naming_the_blades(running_lab: RunningLab) -> None:
    answer = _fault(running_lab, "lose-quorum", "blade9")
    assert answer.status_code == 400
    assert answer.json()["error"] == "unknown blade 'blade9'; blades: blade1, blade2, blade3, blade4"


def test_the_cli_cuts_a_blade_off_and_rejoins_it(tmp_path: Path) -> None:
    workdir = tmp_path / "lab"
    with lab_up(workdir, "--time-scale", "100"):
        done = _drewburr("fault", "--dir", str(workdir), "lose-quorum", "blade3")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "blade3 cut off from the cluster (the rest is quorate)"
        done = _drewburr("fault", "--dir", str(workdir), "regain-quorum", "blade3")
        assert (done.returncode, done.stdout.strip()) == (0, "blade3 rejoined the cluster")
        done = _drewburr("fault", "--dir", str(workdir), "lose-quorum", "blade7")
        assert done.returncode == 2
        assert "unknown blade 'blade7'; blades: blade1, blade2, blade3, blade4" in done.stderr


def test_the_metrics_and_lab_status_show_the_isolated_blade_down(running_lab: RunningLab) -> None:
    _fault(running_lab, "lose-quorum", "blade3")
    samples = _scrape(running_lab)
    assert _value(samples, "pve_up", id="node/blade3") == 0
    assert _value(samples, "pve_up", id="node/blade4") == 1
    url = json.loads((running_lab.workdir / "lab.json").read_text())["control_url"]
    blades = {b["name"]: b for b in requests.get(f"{url}/lab/status", timeout=10).json()["blades"]}
    assert blades["blade3"]["online"] is False and blades["blade3"]["powered"] is True
