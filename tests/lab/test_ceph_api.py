"""Ceph through PVE's API, as proxmoxer sees it while OSDs and blades fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from lab.scenario import load_scenario
from tests.conftest import REFERENCE, RunningLab
from tests.lab.pve_client import fault, proxmox, wait_for, wait_task

OUT_INTERVAL = 30  # lab seconds; 0.6 s real at time scale 50


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[RunningLab]:
    scenario = load_scenario(None)
    scenario.timings.mon_osd_down_out_interval = OUT_INTERVAL
    with RunningLab(tmp_path / "lab", scenario, time_scale=50) as running:
        yield running


def _checks(api: ProxmoxAPI) -> dict[str, Any]:
    return api.cluster.ceph.status.get()["health"]["checks"]


def test_status_has_the_keys_and_types_of_a_real_capture(lab: RunningLab) -> None:
    real = json.loads((REFERENCE / "pve" / "ceph-status-warn.json").read_text())["data"]
    ours = proxmox(lab).cluster.ceph.status.get()
    for key in ("health", "osdmap", "monmap", "pgmap", "quorum_names", "fsid", "quorum"):
        assert type(ours[key]) is type(real[key]), key
    for section in ("osdmap", "pgmap"):
        assert set(real[section]) <= set(ours[section]), section
    assert ours["health"]["status"] == "HEALTH_OK"
    assert set(real["monmap"]["mons"][0]) <= set(ours["monmap"]["mons"][0])
    assert ours["quorum_names"] == ["blade1", "blade2", "blade3"]


def test_a_stopped_osd_is_down_then_out_after_the_interval(lab: RunningLab) -> None:
    api = proxmox(lab)
    fault(lab, "osd-down", "blade2")
    check = _checks(api)["OSD_DOWN"]
    assert check["severity"] == "HEALTH_WARN"
    assert check["summary"] == {"message": "1 osds down", "count": 1}
    assert check["detail"] == [{"message": "osd.1 (root=default,host=blade2) is down"}]
    assert "PG_DEGRADED" in _checks(api)
    wait_for(lambda: api.cluster.ceph.status.get()["osdmap"]["num_in_osds"] == 3)
    assert "OSD_DOWN" not in _checks(api)
    tree = api.nodes("blade1").ceph.osd.get()
    osd = tree["root"]["children"][0]["children"][1]["children"][0]
    assert {k: osd[k] for k in ("id", "name", "host", "status", "in", "type")} == {
        "id": 1, "name": "osd.1", "host": "blade2", "status": "down", "in": 0, "type": "osd"}
    fault(lab, "osd-up", "osd.1")
    assert api.cluster.ceph.status.get()["osdmap"]["num_in_osds"] == 4


def test_noout_raises_osdmap_flags_and_keeps_a_down_osd_in(lab: RunningLab) -> None:
    api = proxmox(lab)
    api.cluster.ceph.flags.noout.put(value=1)
    assert _checks(api)["OSDMAP_FLAGS"]["summary"]["message"] == "noout flag(s) set"
    assert {f["name"]: f["value"] for f in api.cluster.ceph.flags.get()}["noout"] == 1
    assert api.nodes("blade3").ceph.osd.get()["flags"] == "noout"
    fault(lab, "osd-down", "blade3")
    start = lab.call(lab.lab.clock.now)
    wait_for(lambda: lab.call(lab.lab.clock.now) > start + 2 * OUT_INTERVAL)
    assert api.cluster.ceph.status.get()["osdmap"]["num_in_osds"] == 4
    api.cluster.ceph.flags.noout.put(value=0)
    assert "OSDMAP_FLAGS" not in _checks(api)
    wait_for(lambda: api.cluster.ceph.status.get()["osdmap"]["num_in_osds"] == 3)


def test_a_powered_off_blade_downs_its_osd_host_and_monitor(lab: RunningLab) -> None:
    api = proxmox(lab)
    fault(lab, "power-off", "blade3")
    mon = wait_for(lambda: _checks(api).get("MON_DOWN"))
    assert mon["summary"]["message"] == "1/3 mons down, quorum blade1,blade2"
    host = wait_for(lambda: _checks(api).get("OSD_HOST_DOWN"))
    assert host["summary"]["message"] == "1 host (1 osds) down"
    assert api.cluster.ceph.status.get()["quorum_names"] == ["blade1", "blade2"]
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade3").ceph.status.get()
    assert exc.value.status_code == 595
    assert api.nodes("blade1").ceph.status.get()["health"]["status"] == "HEALTH_WARN"
    wait_for(lambda: api.cluster.ceph.status.get()["osdmap"]["num_in_osds"] == 3)  # out after the interval
    assert "OSD_DOWN" not in _checks(api) and "PG_DEGRADED" in _checks(api)  # backfilling


def test_an_unknown_flag_gets_pves_enum_error(lab: RunningLab) -> None:
    with pytest.raises(ResourceException) as exc:
        proxmox(lab).cluster.ceph.flags("sleepy").put(value=1)
    assert exc.value.status_code == 400
    assert exc.value.errors["flag"].startswith("value 'sleepy' does not have a value in the enumeration")


def test_setting_several_flags_at_once_runs_a_task(lab: RunningLab) -> None:
    api = proxmox(lab)
    upid = api.cluster.ceph.flags.put(noout=1, norebalance=1, pause=0)
    assert upid.split(":")[5] == "cephsetflags"
    assert wait_task(api, upid)["exitstatus"] == "OK"
    log = [line["t"] for line in api.nodes(upid.split(":")[1]).tasks(upid).log.get()]
    assert log[:2] == ["set noout", "set norebalance"]
    assert _checks(api)["OSDMAP_FLAGS"]["summary"]["message"] == "noout,norebalance flag(s) set"
