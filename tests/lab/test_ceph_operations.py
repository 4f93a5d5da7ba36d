"""Ceph operations through proxmoxer: OSD out/in and the rebalance, cmd-safety, monitors,
metadata, and health checks detailed as `ceph health detail` lists them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from tests.conftest import RunningLab
from tests.lab.pve_client import fault, proxmox, wait_for

PG_LINE = re.compile(r"pg [12]\.[0-9a-f]+ is (active\+)?undersized\+degraded[+a-z]*, acting \[\d(,\d)*\]")


@pytest.fixture
def lab(fast_lab: RunningLab) -> RunningLab:
    return fast_lab


@pytest.fixture
def api(fast_lab: RunningLab) -> ProxmoxAPI:
    return proxmox(fast_lab)


def _checks(api: ProxmoxAPI) -> dict[str, Any]:
    return api.cluster.ceph.status.get()["health"]["checks"]


def _safety(api: ProxmoxAPI, service: str, daemon: str, action: str) -> dict[str, Any]:
    return api.nodes("blade1").ceph("cmd-safety").get(service=service, id=daemon, action=action)


def _osd(api: ProxmoxAPI, osd_id: int) -> dict[str, Any]:
    tree = api.nodes("blade1").ceph.osd.get()["root"]["children"][0]["children"]
    return next(o for host in tree for o in host["children"] if o["id"] == osd_id)


def test_a_stopped_osd_is_listed_down_and_its_pgs_degraded_with_their_acting_sets(
        lab: RunningLab, api: ProxmoxAPI) -> None:
    fault(lab, "osd-down", "osd.2")
    checks = _checks(api)
    down = [d["message"] for d in checks["OSD_DOWN"]["detail"]]
    assert down == ["osd.2 (root=default,host=blade3) is down"]
    degraded = checks["PG_DEGRADED"]
    lines = [d["message"] for d in degraded["detail"]]
    assert all(PG_LINE.fullmatch(line) for line in lines), lines[:3]
    assert all("2" not in line.rsplit("[", 1)[1] for line in lines)  # osd.2 is in no acting set
    assert len(lines) == min(degraded["summary"]["count"], 51)  # mon_health_max_detail, as Ceph cuts
    assert degraded["summary"]["message"].endswith(f"{degraded['summary']['count']} pgs undersized")


def test_an_osd_marked_out_rebalances_in_lab_time_then_is_safe_to_destroy(
        lab: RunningLab, api: ProxmoxAPI) -> None:
    assert _safety(api, "osd", "1", "destroy")["safe"] is False
    assert api.nodes("blade2").ceph.osd(1).out.post() is None
    assert (_osd(api, 1)["in"], _osd(api, 1)["status"], _osd(api, 1)["pgs"]) == (0, "up", 0)
    assert sum(_osd(api, i)["pgs"] for i in (0, 2, 3)) == 3 * 129  # every PG on three OSDs still
    backfill = [d["message"] for d in _checks(api)["PG_DEGRADED"]["detail"]]
    assert "+remapped+backfilling, acting [" in backfill[0]
    unsafe = _safety(api, "osd", "1", "destroy")
    assert unsafe == {"safe": False, "status": "OSD(s) 1 last reported they still store some PG data, and "
                                               "not all PGs are active+clean; we cannot be sure they "
                                               "aren't still needed."}
    wait_for(lambda: api.cluster.ceph.status.get()["health"]["status"] == "HEALTH_OK", 10, "backfill")
    assert _safety(api, "osd", "1", "destroy") == {
        "safe": True, "status": "OSD(s) 1 are safe to destroy without reducing data durability."}
    api.nodes("blade2").ceph.osd(1)("in").post()
    assert _osd(api, 1)["in"] == 1 and _osd(api, 1)["pgs"] > 0
    assert _safety(api, "osd", "1", "destroy")["status"].endswith("pgs currently mapped to them.")


def test_stopping_an_osd_is_unsafe_once_pgs_would_go_inactive(lab: RunningLab, api: ProxmoxAPI) -> None:
    ok = _safety(api, "osd", "2", "stop")
    assert ok["safe"] is True
    assert ok["status"].startswith("OSD(s) 2 are ok to stop without reducing availability or risking data")
    fault(lab, "osd-down", "osd.1")
    refused = _safety(api, "osd", "2", "stop")
    assert refused["safe"] is False
    assert re.fullmatch(r"unsafe to stop osd\(s\) at this time \(\d+ PGs are or would become offline\)",
                        refused["status"])


def test_monitors_list_their_quorum_and_stopping_a_second_one_would_break_it(
        lab: RunningLab, api: ProxmoxAPI) -> None:
    assert _safety(api, "mon", "blade2", "stop") == {
        "safe": True, "status": "quorum should be preserved (blade1,blade3) after stopping [blade2]"}
    fault(lab, "power-off", "blade3")
    mons = {m["name"]: m for m in api.nodes("blade1").ceph.mon.get()}
    assert (mons["blade1"]["quorum"], mons["blade1"]["state"]) == (1, "running")
    assert mons["blade3"]["state"] == "stopped" and "quorum" not in mons["blade3"]
    assert _safety(api, "mon", "blade2", "stop") == {
        "safe": False,
        "status": "not enough monitors would be available (blade1) after stopping mons [blade2]"}
    assert _safety(api, "mon", "blade2", "destroy") == {
        "safe": False, "status": "removing mon.blade2 would break quorum"}


def test_osd_metadata_and_cluster_metadata_describe_every_daemon(api: ProxmoxAPI) -> None:
    meta = api.nodes("blade3").ceph.osd(2).metadata.get()
    osd = meta["osd"]
    assert (osd["hostname"], osd["id"], osd["osd_objectstore"]) == ("blade3", 2, "bluestore")
    assert meta["devices"][0]["device"] == "block" and meta["devices"][0]["size"] == 500 * 1000**3
    cluster = api.cluster.ceph.metadata.get()
    assert sorted(cluster["mon"]) == ["blade1@blade1", "blade2@blade2", "blade3@blade3"]
    assert [o["hostname"] for o in cluster["osd"]] == ["blade1", "blade2", "blade3", "blade4"]
    assert set(api.cluster.ceph.metadata.get(scope="versions")) == {"node"}


@pytest.mark.parametrize(("call", "status", "message"), [
    (lambda api: api.nodes("blade1").ceph.osd(9).out.post(), 500, "no such OSD '9'"),
    (lambda api: api.nodes("blade1").ceph.osd(2).metadata.get(), 500,
     "OSD '2' does not exists on host 'blade1'"),
    (lambda api: _safety(api, "mds", "a", "destroy"), 500,
     "Service does not support this action: mds: destroy"),
    (lambda api: _safety(api, "rgw", "a", "stop"), 400,
     "value 'rgw' does not have a value in the enumeration"),
])
def test_bad_ceph_requests_get_pve_errors(api: ProxmoxAPI, call: Any, status: int, message: str) -> None:
    with pytest.raises(ResourceException) as exc:
        call(api)
    assert exc.value.status_code == status and message in str(exc.value)


def test_a_powered_off_node_does_not_answer_for_its_osd(lab: RunningLab, api: ProxmoxAPI) -> None:
    fault(lab, "power-off", "blade4")
    with pytest.raises(ResourceException) as exc:
        api.nodes("blade4").ceph.osd(3).out.post()
    assert exc.value.status_code == 595
