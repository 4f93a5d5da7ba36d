"""Alert-driven remediation end to end: a real Prometheus scrapes the lab's /metrics with the real
rules (only `for:` shortened), a real Alertmanager posts to `serve`, and `serve` talks in the
lab's Slack twin. The lab runs 50x, so PVE HA fences a lost blade in about 2.4 real seconds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from alert_handlers.alert import fingerprint
from infra.journal import OperationStatus
from infra.journal_sqlite import SqliteJournal
from tests.conftest import REFERENCE, RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.homelab_k8s import OUT_OF_SERVICE, core, postgres, postgres_on, taints
from tests.scenarios.opsctx import fault, idle_lrm, lab_context, settled
from tests.scenarios.test_slack import Workspace, _all_text, serving
from tests.tools import alertmanager, free_port, prometheus

TOKEN = "e2e-webhook-token"
RULE_FILES = ("kube-node-alerts.yml", "ceph-mixin-alerts.yml")


def rules() -> dict[str, Any]:
    """The reference rules as they are, but every `for:` one second."""
    groups = [group for name in RULE_FILES
              for group in yaml.safe_load((REFERENCE / "rules" / name).read_text())["groups"]]
    for group in groups:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    return {"groups": groups}


@dataclass
class Stack:
    slack: Workspace
    serve: str
    alertmanager: str

    def received(self, source: str) -> float:
        wanted = f'drewburr_alerts_received_total{{outcome="queued",source="{source}"}}'
        lines = requests.get(f"{self.serve}/metrics", timeout=10).text.splitlines()
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(wanted))

    def redeliver(self, name: str, times: int) -> list[int]:
        """What an Alertmanager cluster does: the same notification of `name`, `times` over (the
        alert as the real Alertmanager holds it); the `accepted` count of each delivery."""
        alert = next(a for a in requests.get(f"{self.alertmanager}/api/v2/alerts", timeout=10).json()
                     if a["labels"]["alertname"] == name)
        fields = ("labels", "annotations", "startsAt", "endsAt", "fingerprint", "generatorURL")
        body = {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": "firing",
                "receiver": "drewburr", "alerts": [{"status": "firing", **{k: alert[k] for k in fields}}]}
        return [requests.post(f"{self.serve}/alerts/alertmanager", json=body, timeout=10,
                              headers={"Authorization": f"Bearer {TOKEN}"}).json()["accepted"]
                for _ in range(times)]

    def ops(self) -> list[OperationStatus]:
        return asyncio.run(SqliteJournal(self.slack.journal).list(limit=500))

    def acted(self) -> list[OperationStatus]:
        """Operations that do something (a decision held back is journaled with no step)."""
        return [op for op in self.ops() if op.steps]

    def finished(self, kind: str) -> OperationStatus | None:
        return next((op for op in self.acted() if op.kind == kind and op.phase in ("Succeeded", "Failed")),
                    None)

    def bot_messages(self) -> list[dict[str, Any]]:
        return self.slack.seen_by("U0BOT")["messages"]

    def thread(self, containing: str) -> list[str]:
        """The texts of the thread with a message that contains `containing`."""
        messages = self.bot_messages()
        found = next((m for m in messages if containing in _all_text(m)), None)
        if found is None:
            return []
        top = found.get("thread_ts") or found["ts"]
        return [_all_text(m) for m in messages if top in (m["ts"], m.get("thread_ts"))]


@pytest.fixture
def stack(running_lab: RunningLab, tmp_path: Path) -> Iterator[Stack]:
    port = free_port()
    sections = {"server": {"host": "127.0.0.1", "port": port}, "webhooks": {"token": TOKEN},
                "remediation": {"mode": "auto", "hold_seconds": 1, "cooldown_seconds": 1800,
                                "poll_seconds": 0.3}}
    receiver = {"name": "drewburr", "webhook_configs": [{
        "url": f"http://127.0.0.1:{port}/alerts/alertmanager", "send_resolved": True,
        "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}}}]}
    route = {"receiver": "drewburr", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s",
             "repeat_interval": "1h"}
    metrics = json.loads((running_lab.workdir / "lab.json").read_text())["metrics_url"].split("/")[2]
    (tmp_path / "am").mkdir()
    (tmp_path / "prom").mkdir()
    asyncio.run(settled(lab_context(running_lab)))
    with serving(running_lab, tmp_path, "socket", **sections) as slack, \
            alertmanager(tmp_path / "am", {"route": route, "receivers": [receiver]}) as am, \
            prometheus(tmp_path / "prom", {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am.split("//")[1]]}]}]},
                "scrape_configs": [{"job_name": "kube-state-metrics",
                                    "static_configs": [{"targets": [metrics]}]}]}, rules()):
        yield Stack(slack, f"http://127.0.0.1:{port}", am)


def test_blade3_powered_off_is_fenced_after_pve_ha_and_postgres_runs_ready_on_another_blade(
        running_lab: RunningLab, stack: Stack) -> None:
    api = core(running_lab)
    postgres_on(api, "kube05")  # blade3's VM that PVE HA does not restart
    fault(running_lab, "power-off", "blade3")
    op = wait_for(lambda: stack.finished("fence"), timeout=90, what="the fence of blade3")
    assert (op.target, op.phase) == ("blade3", "Succeeded"), op.last_error
    assert op.step("confirm-off").message.startswith("PVE HA fenced blade3")
    assert _postgres_moved(api)
    assert OUT_OF_SERVICE in taints(api, "kube05")
    thread = wait_for(lambda: (t := stack.thread("Starting fence blade3")) and any(
        "fence blade3 succeeded" in m for m in t) and t, timeout=60, what="the fence's thread")
    said = "\n".join(thread)
    assert "PVE HA restarted kube03 (103) on" in said and "default/postgres-0 Ready on" in said
    assert "kube05 (105) is not HA: it stays down on blade3" in said
    assert len([o for o in stack.acted() if o.kind == "fence"]) == 1
    # Alertmanager's alerts and the watcher's findings about blade3: one incident
    incidents = asyncio.run(SqliteJournal(stack.slack.journal).incidents())
    (fence,) = [i for i in incidents if i.fact == "fence:blade3"]
    watched = fingerprint({"alertname": "KubeNodeNotReady", "node": "kube05"})  # the watcher's finding
    assert watched in fence.fingerprints and len(fence.fingerprints) >= 2
    assert stack.received("alertmanager") > 0 and stack.received("watcher") > 0

    fault(running_lab, "power-on", "blade3")
    wait_for(lambda: OUT_OF_SERVICE not in taints(api, "kube05"), timeout=90, what="kube05 untainted")
    wait_for(lambda: any("kube05 Ready again: out-of-service taint removed" in m
                         for m in stack.thread("Starting fence blade3")), timeout=60,
             what="the thread updated")
    wait_for(lambda: any(m.startswith("Resolved: KubeNodeNotReady kube05")
                         for m in stack.thread("Starting fence blade3")), timeout=60,
             what="the resolution in the firing alert's thread")


def test_a_partitioned_blade_without_ha_services_is_not_fenced_and_the_bot_says_why(
        running_lab: RunningLab, stack: Stack) -> None:
    ctx = lab_context(running_lab)
    asyncio.run(idle_lrm(running_lab, ctx, 104, "blade4"))  # blade4's only HA VM: its LRM idles
    fault(running_lab, "lose-quorum", "blade4")
    message = wait_for(lambda: stack.slack.message("blade4's LRM is idle"), timeout=90, what="the reason")
    text = _all_text(message)
    assert "Held back: fence blade4" in text and "PVE HA will never fence it" in text
    question = wait_for(lambda: stack.slack.message("Confirm blade4 is powered off"), timeout=30,
                        what="the question to an admin")
    assert any(b.get("type") == "actions" for b in question.get("blocks") or [])
    assert question.get("thread_ts") == message.get("thread_ts", message["ts"])  # one incident, one thread
    assert [o for o in stack.acted() if o.kind == "fence"] == []
    assert OUT_OF_SERVICE not in taints(core(running_lab), "kube04")
    assert running_lab.call(lambda: running_lab.lab.pve.vms[104].running())


def test_a_partitioned_blade_with_ha_services_is_fenced_only_after_pve_has_fenced_it(
        running_lab: RunningLab, stack: Stack) -> None:
    api = core(running_lab)
    postgres_on(api, "kube05")
    fault(running_lab, "lose-quorum", "blade3")  # its watchdog resets it; PVE HA fences it after
    op = wait_for(lambda: stack.finished("fence"), timeout=90, what="the fence of blade3")
    assert (op.target, op.phase) == ("blade3", "Succeeded"), op.last_error
    assert op.step("confirm-off").message.startswith("PVE HA fenced blade3")
    assert _postgres_moved(api)
    assert not running_lab.call(lambda: running_lab.lab.pve.vms[105].running())  # reset with its blade


def _postgres_moved(api: Any) -> bool:
    node, ready = postgres(api)
    return ready and node not in ("kube03", "kube05", None)


def test_blade2s_osd_down_evacuates_blade2_without_noout_once_however_often_it_is_delivered(
        running_lab: RunningLab, stack: Stack) -> None:
    fault(running_lab, "osd-down", "blade2")
    op = wait_for(lambda: stack.finished("evacuate"), timeout=90, what="the evacuation of blade2")
    assert (op.target, op.phase) == ("blade2", "Succeeded"), op.last_error
    assert "noout" not in [s.name for s in op.steps]
    assert "noout" not in asyncio.run(lab_context(running_lab).ceph.flags_set())
    assert len(stack.acted()) == 1  # CephOSDDown and CephOSDHostDown are one fact: one action
    assert stack.redeliver("CephOSDDown", 5) == [0] * 5  # Alertmanager already delivered it once
    assert len(stack.acted()) == 1
    incidents = asyncio.run(SqliteJournal(stack.slack.journal).incidents())
    assert [i.fact for i in incidents if i.op_id is not None] == ["evacuate:blade2"]
    thread = "\n".join(stack.thread("Starting evacuate blade2"))
    assert "(no noout: its data must re-replicate)" in thread and "evacuate blade2 succeeded" in thread


def test_two_blades_failing_together_get_no_action_and_one_clear_message(
        running_lab: RunningLab, stack: Stack) -> None:
    fault(running_lab, "power-off", "blade3")
    fault(running_lab, "power-off", "blade4")
    wait_for(lambda: stack.slack.message("no automatic action in a storm"), timeout=90,
             what="the storm notice")
    wait_for(lambda: len([o for o in stack.ops() if o.last_error and o.last_error.startswith("storm")]) >= 2,
             timeout=30, what="both blades' decisions held")
    storm = [m for m in stack.bot_messages() if "no automatic action in a storm" in _all_text(m)]
    assert len(storm) == 1
    assert "blade3, blade4" in _all_text(storm[0])
    assert stack.acted() == []
