"""Remediation in mode `approve`, through Slack: the bot asks in the incident's thread and acts
only on a Confirm from someone allowed; saying a blade is powered off is an admin's word."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.journal import OperationStatus
from infra.journal_sqlite import SqliteJournal
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.homelab_k8s import OUT_OF_SERVICE, core, taints
from tests.scenarios.opsctx import fault, idle_lrm, lab_context, settled
from tests.scenarios.test_serve import post_alert
from tests.scenarios.test_slack import OPERATOR, READER, Workspace, _all_text, serving
from tests.tools import free_port

TOKEN, ADMIN = "approve-test-token", "U0ADMIN"


class Approving:
    def __init__(self, slack: Workspace, url: str) -> None:
        self.slack, self.url = slack, url

    def alert(self, name: str, **labels: str) -> None:
        answer = post_alert(self.url, TOKEN, name, **labels)
        assert answer.status_code == 202, answer.text

    def acted(self) -> list[OperationStatus]:
        return [op for op in asyncio.run(SqliteJournal(self.slack.journal).list(limit=100)) if op.steps]

    def finished(self) -> OperationStatus | None:
        return next((op for op in self.acted() if op.phase in ("Succeeded", "Failed")), None)


@pytest.fixture
def approving(running_lab: RunningLab, tmp_path: Path) -> Iterator[Approving]:
    port = free_port()
    asyncio.run(settled(lab_context(running_lab)))
    with serving(running_lab, tmp_path, "socket", server={"host": "127.0.0.1", "port": port},
                 webhooks={"token": TOKEN},
                 remediation={"mode": "approve", "hold_seconds": 0, "poll_seconds": 0.3}) as slack:
        yield Approving(slack, f"http://127.0.0.1:{port}")


def test_an_evacuation_waits_for_an_operators_confirm(running_lab: RunningLab, approving: Approving) -> None:
    slack = approving.slack
    fault(running_lab, "osd-down", "blade2")
    approving.alert("CephOSDDown")
    ask = wait_for(lambda: slack.message("Approve: evacuate blade2?"), timeout=30, what="the request")
    assert any(b.get("type") == "actions" for b in ask["blocks"]) and approving.acted() == []
    slack.press(READER, ask["ts"], "drewburr_confirm")
    wait_for(lambda: slack.told(READER, "needs the operate permission"), timeout=20, what="the denial")
    assert approving.acted() == []
    slack.press(OPERATOR, ask["ts"], "drewburr_confirm")
    op = wait_for(approving.finished, timeout=60, what="the evacuation")
    assert (op.kind, op.target, op.phase, op.params["by"]) == ("evacuate", "blade2", "Succeeded", OPERATOR)
    assert "noout" not in [s.name for s in op.steps]  # a failing OSD: its data must re-replicate
    started = wait_for(lambda: slack.message("Starting evacuate blade2"), timeout=20, what="the start")
    assert started["thread_ts"] == ask["thread_ts"]  # one incident, one thread


def test_only_an_admin_may_say_a_blade_pve_never_fences_is_off(running_lab: RunningLab,
                                                               approving: Approving) -> None:
    slack, ctx = approving.slack, lab_context(running_lab)
    asyncio.run(idle_lrm(running_lab, ctx, 104, "blade4"))  # blade4's only HA VM: its LRM idles
    fault(running_lab, "lose-quorum", "blade4")
    wait_for(lambda: not asyncio.run(ctx.snapshot()).nodes["kube04"].ready, timeout=30,
             what="kube04 NotReady")
    approving.alert("KubeNodeNotReady", node="kube04")
    ask = wait_for(lambda: slack.message("Confirm blade4 is powered off"), timeout=30, what="the question")
    held = slack.message("Held back: fence blade4")
    assert held is not None and "PVE HA will never fence it" in _all_text(held)
    slack.press(OPERATOR, ask["ts"], "drewburr_confirm")
    wait_for(lambda: slack.told(OPERATOR, "needs the admin permission"), timeout=20, what="the denial")
    assert approving.acted() == [] and OUT_OF_SERVICE not in taints(core(running_lab), "kube04")
    slack.press(ADMIN, ask["ts"], "drewburr_confirm")
    op = wait_for(approving.finished, timeout=60, what="the fence")
    assert (op.kind, op.target, op.phase) == ("fence", "blade4", "Succeeded"), op.last_error
    assert op.step("confirm-off").message.startswith(f"blade4 confirmed powered off by <@{ADMIN}>")
    assert OUT_OF_SERVICE in taints(core(running_lab), "kube04")
