"""`serve` restarted while a plan waits for its Confirm; Socket Mode envelopes the bot does not
know; 429s from Slack's Web API in both modes: end to end against the lab's Slack twin."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import requests

from infra.journal import OperationStatus
from infra.journal_sqlite import SqliteJournal
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import fault
from tests.scenarios.test_slack import OPERATOR, READER, Workspace, _all_text, serving


def _drains(slack: Workspace) -> list[tuple[str, str]]:
    return [(op.target, op.phase) for op in asyncio.run(SqliteJournal(slack.journal).list(50))
            if op.kind == "drain"]


def _plan(slack: Workspace, text: str) -> str:
    slack.type(OPERATOR, text)
    return str(wait_for(lambda: slack.message(f"asked: `{text}`"), timeout=30, what="the plan")["ts"])


def test_a_plan_shown_before_a_restart_is_confirmed_after_it_once(running_lab: RunningLab,
                                                                  tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, "socket") as slack:
        ts = _plan(slack, "drain blade3")
    assert _drains(slack) == []  # serve stopped with the plan waiting: nothing ran
    with serving(running_lab, tmp_path, "socket") as slack:
        assert slack.press(OPERATOR, ts, "drewburr_confirm")["delivered"]
        wait_for(lambda: slack.message("`drain blade3` done in"), timeout=120, what="the end")
        again = slack.press(OPERATOR, ts, "drewburr_confirm")
        assert again.get("error") == "action_not_found"  # the message has no button left to press
    assert _drains(slack) == [("blade3", "Succeeded")]


def test_a_plan_that_changed_during_the_restart_is_shown_again_not_run(running_lab: RunningLab,
                                                                       tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, "socket") as slack:
        ts = _plan(slack, "drain blade3")
        assert "blade3 -> blade4" in _all_text(slack.message("asked: `drain blade3`") or {})
    fault(running_lab, "power-off", "blade4")  # the plan's target for kube03 is gone
    with serving(running_lab, tmp_path, "socket") as slack:
        slack.press(OPERATOR, ts, "drewburr_confirm")
        ended = wait_for(lambda: slack.message("The plan changed since it was shown"), timeout=60,
                         what="the new plan")
        assert "refused" in _all_text(ended) and "blade3 -> blade4" not in _all_text(ended)
    assert _drains(slack) == []


def test_an_envelope_of_an_unknown_type_is_acked_and_logged_and_the_bot_goes_on(
        running_lab: RunningLab, tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, "socket") as slack:
        answer = requests.post(f"{slack.url}/lab/slack/envelope", timeout=10,
                               json={"type": "shiny_new_feature", "payload": {"what": "ever"}}).json()
        assert answer["acked"], answer
        slack.type(READER, "status")
        wait_for(lambda: slack.message(f"<@{READER}>: `status`"), timeout=20, what="the status after it")
    assert slack.serve is not None and slack.serve.stdout is not None
    log = slack.serve.stdout.read()
    assert "ignored a Socket Mode envelope of unknown type 'shiny_new_feature'" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("mode", ["socket", "http"])
def test_answers_rate_limited_by_slack_are_sent_after_retry_after_not_dropped(
        running_lab: RunningLab, tmp_path: Path, mode: str) -> None:
    twin = running_lab.lab.slack
    with serving(running_lab, tmp_path, mode) as slack:
        running_lab.call(twin.limits.force, "chat.postMessage", 2, 1)
        before = running_lab.call(twin.count, "chat.postMessage")
        assert slack.type(READER, "status")["via"] == mode
        wait_for(lambda: slack.message(f"<@{READER}>: `status`"), timeout=30, what="the status")
        assert running_lab.call(twin.count, "chat.postMessage") - before == 3  # two 429s, then posted


def journal_ops(slack: Workspace) -> list[OperationStatus]:
    return [op for op in asyncio.run(SqliteJournal(slack.journal).list(50)) if op.kind == "drain"]


def test_sigterm_mid_drain_finishes_the_step_exits_0_and_the_next_start_carries_on(
        running_lab: RunningLab, tmp_path: Path) -> None:
    fault(running_lab, "slow-api", "0.3")  # each step takes a few seconds: SIGTERM lands between two
    with serving(running_lab, tmp_path, "socket") as slack:
        ts = _plan(slack, "drain blade3")
        slack.press(OPERATOR, ts, "drewburr_confirm")
        wait_for(lambda: any(st.outcome == "done" for op in journal_ops(slack) for st in op.steps),
                 timeout=60, what="the drain's first step")
    assert slack.serve.returncode == 0  # serving() sent SIGTERM and waited
    [stopped] = journal_ops(slack)
    assert stopped.phase == "Running" and stopped.heartbeat == 0.0  # released for the next owner
    assert not any(st.outcome == "running" for st in stopped.steps), "a step was cut, not finished"
    assert stopped.pending, "the drain had ended before SIGTERM: the test proved nothing"
    said = slack.message("`drain blade3`")
    assert said is not None and "stopped by a restart" in _all_text(said)
    fault(running_lab, "api-ok")
    with serving(running_lab, tmp_path, "socket") as slack:
        wait_for(lambda: journal_ops(slack)[0].phase == "Succeeded", timeout=120, what="the resumed drain")
    [done] = journal_ops(slack)
    assert all(st.attempts == 1 for st in done.steps), "a step done before SIGTERM ran again"
