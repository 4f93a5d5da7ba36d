"""Our fingerprint of a label set is the one a real Alertmanager gives the same alert."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from alert_handlers.alert import fingerprint
from tests.lab.pve_client import wait_for
from tests.tools import free_port, require


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "alertmanager.yml"
    config.write_text("route: {receiver: 'null'}\nreceivers: [{name: 'null'}]\n")
    port = free_port()
    command = [require("prometheus-alertmanager"), f"--config.file={config}",
               f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
               "--cluster.listen-address="]  # no gossip: one Alertmanager on loopback
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), timeout=30, what="alertmanager to start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_fingerprints_match_alertmanagers_own(alertmanager: str) -> None:
    label_sets = [{"alertname": "KubeNodeNotReady", "node": "kube03", "severity": "warning"},
                  {"alertname": "CephOSDDown", "ceph_daemon": "osd.2", "hostname": "blade3"},
                  {"alertname": "Ünïcode", "zone": "blade-ä", "empty": "x"}]
    answer = requests.post(f"{alertmanager}/api/v2/alerts", json=[{"labels": ls} for ls in label_sets],
                           timeout=5)
    assert answer.status_code == 200, answer.text
    seen = wait_for(lambda: requests.get(f"{alertmanager}/api/v2/alerts", timeout=5).json(), what="alerts")
    theirs = {a["labels"]["alertname"]: a["fingerprint"] for a in seen}
    assert theirs == {ls["alertname"]: fingerprint(ls) for ls in label_sets}
