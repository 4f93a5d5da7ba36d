"""The lab's /metrics, scraped and parsed as Prometheus does, in ceph-mgr and pve-exporter names."""

from __future__ import annotations

import json
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from lab.faults import apply_fault
from tests.conftest import RunningLab


def _scrape(lab: RunningLab) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    url = json.loads((lab.workdir / "lab.json").read_text())["metrics_url"]
    answer = requests.get(url, timeout=10)
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /,
           **labels: str) -> float:
    return samples[(metric, frozenset(labels.items()))]


def test_a_healthy_lab_reports_ok_every_osd_up_and_every_monitor_in_quorum(running_lab: RunningLab) -> None:
    samples = _scrape(running_lab)
    assert _value(samples, "ceph_health_status") == 0
    for i in range(4):
        assert _value(samples, "ceph_osd_up", ceph_daemon=f"osd.{i}") == 1
        assert _value(samples, "ceph_osd_in", ceph_daemon=f"osd.{i}") == 1
    for mon in ("blade1", "blade2", "blade3"):
        assert _value(samples, "ceph_mon_quorum_status", ceph_daemon=f"mon.{mon}") == 1
    assert _value(samples, "pve_up", id="node/blade4") == 1
    assert _value(samples, "pve_up", id="qemu/101") == 1
    metadata = {dict(labels)["ceph_daemon"]: dict(labels)["hostname"]
                for (name, labels) in samples if name == "ceph_osd_metadata"}
    assert metadata == {"osd.0": "blade1", "osd.1": "blade2", "osd.2": "blade3", "osd.3": "blade4"}


def test_a_down_osd_and_a_dead_blade_show_in_the_metrics(running_lab: RunningLab) -> None:
    lab = running_lab.lab
    running_lab.call(lambda: apply_fault(lab, "osd-down", "osd.3", lab.advance()))
    samples = _scrape(running_lab)
    assert _value(samples, "ceph_health_status") == 1
    assert _value(samples, "ceph_health_detail", name="OSD_DOWN", severity="HEALTH_WARN") == 1
    assert _value(samples, "ceph_osd_up", ceph_daemon="osd.3") == 0
    running_lab.call(lambda: apply_fault(lab, "power-off", "blade2", lab.advance()))
    samples = _scrape(running_lab)
    assert _value(samples, "pve_up", id="node/blade2") == 0
    assert _value(samples, "ceph_mon_quorum_status", ceph_daemon="mon.blade2") == 0
    running_lab.call(lambda: apply_fault(lab, "osd-up", "osd.3", lab.advance()))
    deadline = time.monotonic() + 10
    while _value(samples, "ceph_osd_up", ceph_daemon="osd.3") != 1:
        assert time.monotonic() < deadline
        samples = _scrape(running_lab)
    assert _value(samples, "ceph_health_detail", name="MON_DOWN", severity="HEALTH_WARN") == 1
