"""Our Prometheus gateway against a real Prometheus scraping the lab's /metrics."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from infra.errors import Unavailable
from infra.gateways.prometheus import PrometheusGateway
from lab.faults import apply_fault
from tests.conftest import RunningLab
from tests.tools import free_port, require


@pytest.fixture
def prometheus(running_lab: RunningLab, tmp_path: Path) -> Iterator[str]:
    metrics = json.loads((running_lab.workdir / "lab.json").read_text())["metrics_url"]
    target = metrics.removeprefix("http://").split("/", 1)[0]
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "lab", "rules": [
        {"alert": "CephOSDDown", "expr": "ceph_osd_up == 0", "for": "0s",
         "labels": {"severity": "warning"}}]}]}))
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "lab", "static_configs": [{"targets": [target]}]}]}))
    port = free_port()
    command = [require("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}"]
    proc = subprocess.Popen(command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


async def until(check, within: float = 20.0):  # type: ignore[no-untyped-def]
    for _ in range(int(within / 0.25)):
        try:
            if value := await check():
                return value
        except Unavailable:
            pass  # Prometheus still starting
        await asyncio.sleep(0.25)
    raise AssertionError("condition not met in time")


async def test_instant_queries_and_firing_alerts(running_lab, prometheus):
    gw = PrometheusGateway(prometheus)
    up = await until(lambda: gw.query('ceph_osd_up{ceph_daemon="osd.3"}'))
    assert up[0].value == 1 and up[0].labels["ceph_daemon"] == "osd.3"
    lab = running_lab.lab
    running_lab.call(lambda: apply_fault(lab, "osd-down", "osd.3", lab.advance()))

    async def firing():  # type: ignore[no-untyped-def]
        return [a for a in await gw.alerts() if a.get("alertname") == "CephOSDDown"]
    (alert,) = await until(firing)
    assert alert["ceph_daemon"] == "osd.3" and alert["alertstate"] == "firing"


async def test_an_unreachable_prometheus_is_unavailable():
    with pytest.raises(Unavailable):
        await PrometheusGateway(f"http://127.0.0.1:{free_port()}").query("up")
