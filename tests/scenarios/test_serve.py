"""`drewburr serve` on the lab: health and metrics answer, an alert becomes one journaled decision
whatever the number of deliveries, a stale alert is held as stale, and SIGTERM ends it cleanly."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from alert_handlers.webhook_auth import grafana_signature
from infra.journal import OperationStatus
from infra.journal_sqlite import SqliteJournal
from infra.operations import run as operations
from tests.conftest import REFERENCE, RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import DEAD_OWNER, FAST, fault, lab_context
from tests.tools import free_port

TOKEN, GRAFANA_SECRET = "serve-test-token", "serve-grafana-secret"


class Served:
    def __init__(self, url: str, proc: subprocess.Popen[str], journal: Path) -> None:
        self.url, self.proc, self.journal = url, proc, journal

    def alert(self, name: str, status: str = "firing", **labels: str) -> requests.Response:
        return post_alert(self.url, TOKEN, name, status, **labels)

    def ops(self) -> list[OperationStatus]:
        return asyncio.run(SqliteJournal(self.journal).list(limit=100))

    def refused(self) -> list[OperationStatus]:
        return [op for op in self.ops() if op.phase == "Refused"]

    def metric(self, line_start: str) -> float:
        for line in requests.get(f"{self.url}/metrics", timeout=10).text.splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


def post_alert(url: str, token: str, name: str, status: str = "firing", **labels: str) -> requests.Response:
    """One alert as Alertmanager's webhook sends it."""
    body = {"version": "4", "groupKey": "g", "status": status, "receiver": "drewburr", "alerts": [
        {"status": status, "labels": {"alertname": name, **labels}, "startsAt": "2026-12-06T03:00:00Z"}]}
    return requests.post(f"{url}/alerts/alertmanager", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def served(running_lab: RunningLab, tmp_path: Path) -> Iterator[Served]:
    with serving(running_lab, tmp_path) as bot:
        yield bot


@contextmanager
def serving(running_lab: RunningLab, tmp_path: Path, watcher: bool = False,
            base: Path | None = None) -> Iterator[Served]:
    """`watcher`: also watch and poll the lab (off by default: these tests count the decisions that
    the webhooks' alerts alone make). `base`: the config to start from (else the lab's drewburr.yaml)."""
    config = yaml.safe_load((base or running_lab.workdir / "drewburr.yaml").read_text())
    port = free_port()
    config["server"] = {"host": "127.0.0.1", "port": port}
    config["webhooks"] = {"token": TOKEN, "grafana_secret": GRAFANA_SECRET,
                          "grafana_timestamp_header": "X-Grafana-Alerting-Timestamp"}
    config["remediation"] = {"mode": "auto", "hold_seconds": 0, "cooldown_seconds": 1800, "paused": False}
    config["operations"] = FAST
    config["watcher"] = {"enabled": watcher, "poll_seconds": 0.5}
    path = tmp_path / "drewburr.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(path), "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/healthz") or proc.poll() is not None, timeout=30, what="serve")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        yield Served(url, proc, Path(config["journal"]["path"]))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_serve_is_healthy_and_ready_and_stops_cleanly_on_sigterm(served: Served) -> None:
    ready = requests.get(f"{served.url}/readyz", timeout=10)
    assert ready.status_code == 200 and "[+]journal ok" in ready.text and "[+]remediation ok" in ready.text
    served.proc.send_signal(signal.SIGTERM)
    out, _ = served.proc.communicate(timeout=20)
    assert served.proc.returncode == 0, out
    assert "stopped" in out


def test_a_down_osd_alert_delivered_five_times_is_one_evacuation_without_noout(
        running_lab: RunningLab, served: Served) -> None:
    fault(running_lab, "osd-down", "blade2")
    answers = [served.alert("CephOSDDown") for _ in range(5)]
    assert [a.status_code for a in answers] == [202] * 5
    assert [a.json()["accepted"] for a in answers] == [1, 0, 0, 0, 0]
    (op,) = wait_for(lambda: [o for o in served.ops() if o.phase in ("Succeeded", "Failed")], timeout=60,
                     what="the evacuation")
    assert (op.kind, op.target, op.phase) == ("evacuate", "blade2", "Succeeded"), op.last_error
    assert op.params["by"] == "drewburr" and "noout" not in [s.name for s in op.steps]
    assert served.ops() == [op] and served.refused() == []
    incidents = asyncio.run(SqliteJournal(served.journal).incidents())
    assert [(i.fact, i.op_id) for i in incidents] == [("evacuate:blade2", op.id)]
    # the same fact from another alert, once the evacuation is done: drewburr just acted on blade2
    assert served.alert("CephOSDHostDown").json()["accepted"] == 1
    (held,) = wait_for(served.refused, timeout=20, what="the second decision")
    assert held.last_error is not None and held.last_error.startswith("cooldown: drewburr acted on blade2")
    assert served.metric('drewburr_alerts_received_total{outcome="duplicate",source="alertmanager"}') == 4


def test_an_alert_about_a_healthy_node_is_held_as_stale(served: Served) -> None:
    assert served.alert("KubeNodeNotReady", node="kube04").status_code == 202
    (op,) = wait_for(served.refused, timeout=20, what="the decision in the journal")
    assert op.target == "blade4" and op.last_error is not None
    assert op.last_error.startswith("still-true: blade4 looks healthy in the live topology now")


def test_osds_down_on_two_blades_name_no_one_blade_a_notice_and_no_action(running_lab: RunningLab,
                                                                          served: Served) -> None:
    fault(running_lab, "osd-down", "blade2")
    fault(running_lab, "osd-down", "blade3")
    assert served.alert("CephOSDDown").status_code == 202
    wait_for(lambda: served.metric('drewburr_remediation_decisions_total{action="notify"}') == 1,
             timeout=20, what="the notice")
    assert served.refused() == []


def test_bad_bodies_and_missing_tokens_get_clear_answers(served: Served) -> None:
    bad = requests.post(f"{served.url}/alerts/alertmanager", data=b"{", timeout=10,
                        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("the body is not JSON")
    anonymous = requests.post(f"{served.url}/alerts/alertmanager", json={}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json() == {"error": "no Authorization header"}



def test_serve_resumes_a_drain_a_previous_life_left_unfinished(running_lab: RunningLab,
                                                               tmp_path: Path) -> None:
    ctx = lab_context(running_lab)

    async def interrupted_drain() -> int:
        op = await operations.create(ctx, "drain", "blade3", {})
        await ctx.journal.set_phase(op.id, "Running", time.time(), owner=DEAD_OWNER)  # its process died
        return op.id
    op_id = asyncio.run(interrupted_drain())

    def ended() -> OperationStatus | None:
        op = asyncio.run(ctx.journal.get(op_id))
        return op if op is not None and op.phase in ("Succeeded", "Failed") else None
    with serving(running_lab, tmp_path):
        done = wait_for(ended, timeout=120, what="the drain to be resumed and end")
    assert done.phase == "Succeeded", done.last_error
    placed = running_lab.call(lambda: {vm.node for vm in running_lab.lab.pve.vms.values()
                                       if vm.name in ("kube03", "kube05")})
    assert "blade3" not in placed


def test_grafana_signs_with_the_configured_secret_and_its_timestamp(served: Served) -> None:
    body = (REFERENCE / "alerts" / "grafana-webhook-example.json").read_bytes()
    stamp = str(int(time.time()))
    signed = requests.post(f"{served.url}/alerts/grafana", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Grafana-Alerting-Timestamp": stamp,
        "X-Grafana-Alerting-Signature": grafana_signature(GRAFANA_SECRET, body, stamp)})
    assert signed.status_code == 202, signed.text
    unsigned = requests.post(f"{served.url}/alerts/grafana", data=body, timeout=10,
                             headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    assert unsigned.status_code == 401 and unsigned.json() == {"error": "no signature header"}
