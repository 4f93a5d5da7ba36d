"""/drewburr from Slack, end to end: `serve` in Socket Mode against the lab's Slack twin, people
typing commands and pressing buttons, permissions from the config, a drain confirmed by button."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from infra.journal_sqlite import SqliteJournal
from lab.slack.people import sign
from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.opsctx import FAST
from tests.tools import free_port

OPS = "C0OPS"
READER, OPERATOR = "U0READ", "U0OPER"  # oscar (U0OPER) is in the @oncall user group


class Workspace:
    def __init__(self, url: str, journal: Path, serve: subprocess.Popen[str], bot_url: str) -> None:
        self.url, self.journal, self.serve, self.bot_url = url, journal, serve, bot_url

    def type(self, user: str, text: str) -> dict[str, Any]:
        answer = requests.post(f"{self.url}/lab/slack/command",
                               json={"user": user, "channel": OPS, "text": text}, timeout=10).json()
        assert answer["delivered"], answer
        return answer

    def press(self, user: str, ts: str, action: str) -> dict[str, Any]:
        return requests.post(f"{self.url}/lab/slack/press", json={
            "user": user, "channel": OPS, "message_ts": ts, "action_id": action}, timeout=10).json()

    def seen_by(self, user: str) -> dict[str, Any]:
        return requests.get(f"{self.url}/lab/slack/messages", params={"channel": OPS, "user": user},
                            timeout=10).json()

    def message(self, containing: str) -> dict[str, Any] | None:
        return next((m for m in self.seen_by("U0BOT")["messages"] if containing in _all_text(m)), None)

    def told(self, user: str, containing: str) -> bool:
        return any(containing in e["text"] for e in self.seen_by(user)["ephemeral"])


def _all_text(message: dict[str, Any]) -> str:
    parts = [message.get("text", "")]
    for block in message.get("blocks") or []:
        parts.append(str((block.get("text") or {}).get("text", "")))
    return "\n".join(parts)


@pytest.fixture
def slack(running_lab: RunningLab, tmp_path: Path) -> Iterator[Workspace]:
    with serving(running_lab, tmp_path, "socket") as workspace:
        yield workspace


@contextmanager
def serving(running_lab: RunningLab, tmp_path: Path, mode: str, **sections: dict[str, Any]
            ) -> Iterator[Workspace]:
    """`serve` in `mode` on the lab's config, with `sections` merged into it."""
    config = yaml.safe_load((running_lab.workdir / "drewburr.yaml").read_text())
    config["slack"]["mode"] = mode
    port = free_port()
    config["server"] = {"host": "127.0.0.1", "port": port}
    config["permissions"] = {"read": ["*"], "operate": ["@oncall"], "admin": ["U0ADMIN"]}
    config["operations"] = FAST
    for name, section in sections.items():
        config[name] = {**config.get(name, {}), **section}
    path = tmp_path / "drewburr.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(path), "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    twin = running_lab.lab.slack
    events = f"http://127.0.0.1:{port}/slack/events"
    try:
        if mode == "socket":
            wait_for(lambda: running_lab.call(twin.socket.live) or proc.poll() is not None, timeout=30,
                     what="serve's Socket Mode link")
        else:
            wait_for(lambda: _answers(events) or proc.poll() is not None, timeout=30, what="serve's HTTP")
            twin.people.request_url = events
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        yield Workspace(config["slack"]["api_url"].removesuffix("/api/"), Path(config["journal"]["path"]),
                        proc, f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_anyone_may_read_the_status_and_it_is_posted_to_the_channel(slack: Workspace) -> None:
    slack.type(READER, "status")
    posted = wait_for(lambda: slack.message("blade1"), timeout=20, what="the status message")
    assert "`status`" in _all_text(posted) and "kube03" in _all_text(posted)


def test_a_reader_may_not_drain_and_nothing_moves(slack: Workspace) -> None:
    slack.type(READER, "drain blade3")
    wait_for(lambda: slack.told(READER, "needs the operate permission"), timeout=20, what="the denial")
    assert slack.message("Confirm") is None and slack.message("drain blade3") is None


def test_a_usage_error_is_answered_to_the_person_only(slack: Workspace) -> None:
    slack.type(OPERATOR, "drain")
    wait_for(lambda: slack.told(OPERATOR, "drain takes BLADE, got none"), timeout=20, what="the usage")
    slack.type(OPERATOR, "x" * 5000)
    wait_for(lambda: slack.told(OPERATOR, "the most is 2000"), timeout=20, what="the length refusal")


def test_a_drain_confirmed_by_an_operator_runs_and_reports_in_the_message_and_its_thread(
        slack: Workspace) -> None:
    slack.type(OPERATOR, "drain blade3")
    plan = wait_for(lambda: slack.message("asked: `drain blade3`"), timeout=30, what="the plan")
    assert any(b.get("type") == "actions" for b in plan["blocks"])
    assert slack.press(READER, plan["ts"], "drewburr_confirm")["delivered"]  # a reader's press
    wait_for(lambda: slack.told(READER, "needs the operate permission"), timeout=20, what="the denial")
    # a double click: both presses race the bot's edit of the message; one drain runs whatever wins
    with ThreadPoolExecutor(2) as pool:
        presses = list(pool.map(lambda _: slack.press(OPERATOR, plan["ts"], "drewburr_confirm"), range(2)))
    assert presses[0].get("delivered") or presses[1].get("delivered")
    if all(p.get("delivered") for p in presses):
        wait_for(lambda: slack.told(OPERATOR, "already confirmed"), timeout=20, what="the second press")
    done = wait_for(lambda: slack.message("`drain blade3` done in"), timeout=120, what="the end")
    journal = SqliteJournal(slack.journal)
    drains = [op for op in asyncio.run(journal.list(50)) if op.kind == "drain"]
    assert [op.phase for op in drains] == ["Succeeded"]
    # the audit trail: who asked, who was refused, who confirmed, and the operation it started
    trail = [(e.who, e.what, e.result) for e in reversed(asyncio.run(journal.audit_log(50)))]
    assert (OPERATOR, "drain blade3", "plan shown") in trail
    assert any(who == READER and "needs the operate permission" in result for who, _, result in trail)
    ran = asyncio.run(journal.audit_log(50, op_id=drains[0].id))
    assert [(e.who, e.what) for e in ran] == [(OPERATOR, "Confirm `drain blade3`")]
    assert ran[0].result.startswith("done in")
    assert f"confirmed by <@{OPERATOR}>" in _all_text(done) and done.get("reply_count", 0) >= 3
    assert not any(b.get("type") == "actions" for b in done["blocks"])  # no button left to press
    assert drains[0].params["slack_thread"] == {"channel": OPS, "ts": plan["ts"]}  # for a replica resuming it


def test_cancel_changes_nothing(slack: Workspace) -> None:
    slack.type(OPERATOR, "drain blade2")
    plan = wait_for(lambda: slack.message("asked: `drain blade2`"), timeout=30, what="the plan")
    slack.press(OPERATOR, plan["ts"], "drewburr_cancel")
    wait_for(lambda: slack.message(f"Cancelled by <@{OPERATOR}>"), timeout=20, what="the cancel")
    slack.type(READER, "status")
    status = wait_for(lambda: slack.message("`status`"), timeout=20, what="the status")
    assert "maint" not in _all_text(status).lower()


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return False
    return True


def test_http_mode_answers_signed_requests_and_refuses_forged_ones(running_lab: RunningLab,
                                                                   tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, "http") as slack:
        assert slack.type(READER, "status")["via"] == "http"
        wait_for(lambda: slack.message("blade1"), timeout=20, what="the status message")
        events = running_lab.lab.slack.people.request_url
        forged = requests.post(events, data=b"command=%2Fdrewburr&text=drain+blade3&user_id=U0OPER",
                               headers={"X-Slack-Request-Timestamp": str(int(time.time())),
                                        "X-Slack-Signature": "v0=" + "0" * 64,
                                        "Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
        assert forged.status_code == 401
        stale_stamp = str(int(time.time()) - 600)
        body = b"command=%2Fdrewburr&text=status&user_id=U0READ&channel_id=C0OPS"
        stale = requests.post(events, data=body, headers={
            "X-Slack-Request-Timestamp": stale_stamp, "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Signature": sign(running_lab.lab.slack.workspace.signing_secret, stale_stamp, body)},
            timeout=10)
        assert stale.status_code == 401
