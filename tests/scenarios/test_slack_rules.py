"""Slack, through `serve` and the lab's Slack twin: the two-person rule, the channel allowlist, the
automation switch, and an alert notice's Silence button creating a silence in a real Alertmanager."""

from __future__ import annotations

import asyncio
from pathlib import Path

import requests

from alert_handlers.alert import fingerprint
from infra.journal_sqlite import SqliteJournal
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.test_slack import OPERATOR, READER, Workspace, _all_text, serving
from tests.tools import alertmanager, free_port

ADMIN = "U0ADMIN"


def test_two_person_rule_the_requester_cannot_confirm_a_second_person_can(running_lab: RunningLab,
                                                                          tmp_path: Path) -> None:
    rules = {"permissions": {"read": ["*"], "operate": ["@oncall", ADMIN], "admin": [ADMIN],
                             "two_person": ["drain"]}}
    with serving(running_lab, tmp_path, "socket", **rules) as slack:
        slack.type(OPERATOR, "drain blade3")
        plan = wait_for(lambda: slack.message("asked: `drain blade3`"), timeout=30, what="the plan")
        slack.press(OPERATOR, plan["ts"], "drewburr_confirm")
        wait_for(lambda: slack.told(OPERATOR, "`drain` needs a second person"), timeout=20,
                 what="the refusal")
        assert slack.message("Confirmed by") is None  # the plan still waits, nothing ran
        assert not [op for op in asyncio.run(SqliteJournal(slack.journal).list(20)) if op.kind == "drain"]
        slack.press(ADMIN, plan["ts"], "drewburr_confirm")
        wait_for(lambda: slack.message(f"Confirmed by <@{ADMIN}>"), timeout=30, what="the second confirm")
        drains = wait_for(lambda: [op for op in asyncio.run(SqliteJournal(slack.journal).list(20))
                                   if op.kind == "drain"], timeout=30, what="the drain started")
        assert len(drains) == 1


def test_commands_from_a_channel_not_allowed_are_refused_and_nothing_runs(running_lab: RunningLab,
                                                                          tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, "socket", slack={"channels": ["C0ELSEWHERE"]}) as slack:
        slack.type(OPERATOR, "drain blade3")
        wait_for(lambda: slack.told(OPERATOR, "drewburr takes commands only in <#C0ELSEWHERE>"), timeout=20,
                 what="the refusal")
        assert slack.message("drain blade3") is None
        trail = asyncio.run(SqliteJournal(slack.journal).audit_log(10))
        assert [(e.who, e.what) for e in trail] == [(OPERATOR, "drain blade3")]  # the refusal is audited


def test_only_an_admin_pauses_automation_and_anyone_sees_it(running_lab: RunningLab, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    with serving(running_lab, tmp_path, "socket", alertmanager={"url": down}) as slack:
        _pause_as_admin(slack)
        slack.type(OPERATOR, "silence KubeNodeNotReady 1h")  # Alertmanager is down: said, to them
        wait_for(lambda: slack.told(OPERATOR, f"failed, nothing changed: Alertmanager at {down}"), timeout=30,
                 what="the failure")


def _pause_as_admin(slack: Workspace) -> None:
    slack.type(OPERATOR, "automation pause no reason")
    wait_for(lambda: slack.told(OPERATOR, "needs the admin permission"), timeout=20, what="the denial")
    slack.type(ADMIN, "automation pause Ceph rebalancing by hand")
    wait_for(lambda: slack.message(f"Automation paused by {ADMIN}"), timeout=20, what="the pause")
    paused = asyncio.run(SqliteJournal(slack.journal).paused())
    assert paused is not None and paused.reason == "Ceph rebalancing by hand"
    slack.type(READER, "automation status")
    status = wait_for(lambda: slack.message("Automation is PAUSED"), timeout=20, what="the status")
    assert "Ceph rebalancing by hand" in _all_text(status)


def test_an_alert_notice_has_a_silence_button_that_silences_it_in_alertmanager(running_lab: RunningLab,
                                                                                tmp_path: Path) -> None:
    port, token = free_port(), "silence-test-token"
    route = {"route": {"receiver": "drewburr", "group_wait": "1s", "group_interval": "1s"},
             "receivers": [{"name": "drewburr", "webhook_configs": [{
                 "url": f"http://127.0.0.1:{port}/alerts/alertmanager",
                 "http_config": {"authorization": {"credentials": token}}}]}]}
    labels = {"alertname": "KubeNodeNotReady", "node": "kube04"}  # kube04 is Ready: held as stale
    with alertmanager(tmp_path, route) as am, serving(
            running_lab, tmp_path, "socket", server={"host": "127.0.0.1", "port": port},
            webhooks={"token": token}, alertmanager={"url": am}) as slack:
        assert requests.post(f"{am}/api/v2/alerts", json=[{"labels": labels}], timeout=5).status_code == 200
        notice = wait_for(lambda: slack.message("Held back: evacuate blade4"), timeout=30, what="the notice")
        (button,) = [e for b in notice["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert button["value"] == f"silence {fingerprint(labels)} 2h"
        slack.press(READER, notice["ts"], "drewburr_silence")
        wait_for(lambda: slack.told(READER, "needs the operate permission"), timeout=20, what="the denial")
        assert requests.get(f"{am}/api/v2/silences", timeout=5).json() == []
        slack.press(OPERATOR, notice["ts"], "drewburr_silence")
        wait_for(lambda: slack.message("Silenced alertname='KubeNodeNotReady', node='kube04'"), timeout=20,
                 what="the silence")
        (silence,) = requests.get(f"{am}/api/v2/silences", timeout=5).json()
        assert silence["createdBy"] == OPERATOR and silence["status"]["state"] == "active"
        wait_for(lambda: requests.get(f"{am}/api/v2/alerts", timeout=5).json()[0]["status"]["state"]
                 == "suppressed", timeout=20, what="the alert suppressed")


def test_the_config_pauses_at_start_an_admin_resumes_and_a_blocking_alert_from_the_config_holds(
        running_lab: RunningLab, tmp_path: Path) -> None:
    port, token = free_port(), "pause-test-token"
    remediation = {"mode": "auto", "hold_seconds": 0, "paused": True,
                   "blocking_alerts": ["CephDataMigration"]}
    with serving(running_lab, tmp_path, "socket", server={"host": "127.0.0.1", "port": port},
                 webhooks={"token": token}, remediation=remediation) as slack:
        journal = SqliteJournal(slack.journal)

        def alert(name: str, **labels: str) -> None:
            body = {"version": "4", "groupKey": name, "status": "firing", "alerts": [{
                "labels": {"alertname": name, **labels}, "startsAt": "2026-12-06T03:00:00Z"}]}
            answer = requests.post(f"http://127.0.0.1:{port}/alerts/alertmanager", json=body, timeout=10,
                                   headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 202, answer.text

        def held(n: int) -> list[str]:
            ops = [op for op in asyncio.run(journal.list(20)) if op.phase == "Refused"]
            return [op.last_error or "" for op in reversed(ops)] if len(ops) >= n else []
        alert("KubeNodeNotReady", node="kube04")
        first = wait_for(lambda: held(1), timeout=30, what="the first hold")
        assert first[0].startswith("paused: automation is paused by config")
        slack.type(ADMIN, "automation resume")
        wait_for(lambda: slack.message(f"Automation resumed by {ADMIN}"), timeout=20, what="the resume")
        alert("CephDataMigration")
        alert("KubeNodeNotReady", node="kube01")
        later = wait_for(lambda: held(2), timeout=30, what="the second hold")
        assert later[1] == "blocking-alert: blocking alert(s) firing: CephDataMigration"
