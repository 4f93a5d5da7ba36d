"""The bot's own observability, on the lab: `/metrics` counts what happened, `/readyz` names the
dependency that is down, logs are JSON lines that name their operation, and no secret is ever
written to the logs, the journal or Slack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.conftest import RunningLab
from tests.lab.pve_client import wait_for
from tests.scenarios.test_slack import OPERATOR, serving
from tests.tools import free_port

SECRETS = {"webhooks": {"token": "hook-token-5b2e9c", "grafana_secret": "grafana-hmac-7d41aa"},
           "slack": {"signing_secret": "signing-secret-93c0f1"}}


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}}" if want else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_drain_from_slack_is_counted_logged_as_json_with_its_operation_and_leaks_no_secret(
        running_lab: RunningLab, tmp_path: Path) -> None:
    with serving(running_lab, tmp_path, "socket", **SECRETS) as slack:
        slack.type(OPERATOR, "drain blade3")
        plan = wait_for(lambda: slack.message("asked: `drain blade3`"), timeout=30, what="the plan")
        slack.press(OPERATOR, plan["ts"], "drewburr_confirm")
        wait_for(lambda: slack.message("`drain blade3` done in"), timeout=120, what="the drain's end")
        slack.type(OPERATOR, "drain")  # a usage error is counted too
        wait_for(lambda: slack.told(OPERATOR, "drain takes BLADE"), timeout=20, what="the usage error")
        alert = {"version": "4", "groupKey": "g", "receiver": "drewburr", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "Watchdog"}, "startsAt": "2026-12-06T03:00:00Z"}]}
        assert requests.post(f"{slack.bot_url}/alerts/alertmanager", json=alert, timeout=10, headers={
            "Authorization": f"Bearer {SECRETS['webhooks']['token']}"}).status_code == 202
        assert requests.post(f"{slack.bot_url}/alerts/alertmanager", json=alert, timeout=10, headers={
            "Authorization": "Bearer wrong"}).status_code == 401
        metrics = requests.get(f"{slack.bot_url}/metrics", timeout=10).text
        ready = requests.get(f"{slack.bot_url}/readyz", timeout=10)
        seen = json.dumps([slack.seen_by(user) for user in ("U0BOT", OPERATOR, "U0READ", "U0ADMIN")])
        journal = slack.journal.read_bytes()
        config = yaml.safe_load((running_lab.workdir / "drewburr.yaml").read_text())
    slack.serve.wait(timeout=20)
    logs = slack.serve.stdout.read() if slack.serve.stdout else ""

    assert _metric(metrics, "drewburr_commands_total", outcome="done", verb="drain") == 1
    assert _metric(metrics, "drewburr_commands_total", outcome="usage-error", verb="(unparsed)") == 1
    assert _metric(metrics, "drewburr_operations_total", kind="drain", outcome="succeeded") == 1
    timed = _metric(metrics, "drewburr_operation_duration_seconds_count", kind="drain", outcome="succeeded")
    assert timed == 1
    assert _metric(metrics, "drewburr_alerts_received_total", outcome="queued", source="alertmanager") == 1
    assert _metric(metrics, "drewburr_slack_socket_connected") == 1
    assert _metric(metrics, "drewburr_leader") == 1
    assert ready.status_code == 200 and "[+]proxmox ok" in ready.text and "[+]kubernetes ok" in ready.text

    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    drain_lines = [line for line in lines if line.get("op_id") is not None]
    assert any("drain blade3" in line["message"] and "Succeeded" in line["message"] for line in drain_lines)

    secrets = [config["proxmox"]["token_secret"], config["slack"]["bot_token"], config["slack"]["app_token"],
               *SECRETS["webhooks"].values(), *SECRETS["slack"].values()]
    for secret in secrets:
        assert secret not in logs, "a secret in the logs"
        assert secret.encode() not in journal, "a secret in the journal"
        assert secret not in seen, "a secret in Slack"


def test_readyz_names_the_dependency_that_is_down(running_lab: RunningLab, tmp_path: Path) -> None:
    kubeconfig: dict[str, Any] = yaml.safe_load((running_lab.workdir / "kubeconfig").read_text())
    for cluster in kubeconfig["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"  # nothing listens there
    dead = tmp_path / "dead-kubeconfig"
    dead.write_text(yaml.safe_dump(kubeconfig))
    with serving(running_lab, tmp_path, "socket", kubernetes={"kubeconfig": str(dead)}) as slack:
        ready = requests.get(f"{slack.bot_url}/readyz", timeout=30)
        metrics = requests.get(f"{slack.bot_url}/metrics", timeout=10).text
    assert ready.status_code == 503
    assert "[-]kubernetes" in ready.text and "[+]proxmox ok" in ready.text and "[+]journal ok" in ready.text
    assert _metric(metrics, "drewburr_ready") == 0
