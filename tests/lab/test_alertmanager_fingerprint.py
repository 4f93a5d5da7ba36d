"""Our fingerprint of a label set is the one a real Alertmanager gives the same alert."""

from __future__ import annotations

from pathlib import Path

import requests

from alert_handlers.alert import fingerprint
from tests.lab.pve_client import wait_for
from tests.tools import alertmanager


def test_fingerprints_match_alertmanagers_own(tmp_path: Path) -> None:
    label_sets = [{"alertname": "KubeNodeNotReady", "node": "kube03", "severity": "warning"},
                  {"alertname": "CephOSDDown", "ceph_daemon": "osd.2", "hostname": "blade3"},
                  {"alertname": "Ünïcode", "zone": "blade-ä", "empty": "x"}]
    null = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
    with alertmanager(tmp_path, null) as url:
        answer = requests.post(f"{url}/api/v2/alerts", json=[{"labels": ls} for ls in label_sets], timeout=5)
        assert answer.status_code == 200, answer.text
        seen = wait_for(lambda: requests.get(f"{url}/api/v2/alerts", timeout=5).json(), what="alerts")
    theirs = {a["labels"]["alertname"]: a["fingerprint"] for a in seen}
    assert theirs == {ls["alertname"]: fingerprint(ls) for ls in label_sets}
