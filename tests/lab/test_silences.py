"""`drewburr silence ...` against a real Alertmanager (0.25): a silence by name or by fingerprint
suppresses exactly what it says, `list` shows it, `expire` ends it; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from alert_handlers.alert import fingerprint
from bot.cli import app
from tests.lab.pve_client import wait_for
from tests.tools import alertmanager, free_port, offline_config

NULL_ROUTE = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
KUBE03 = {"alertname": "KubeNodeNotReady", "node": "kube03", "severity": "warning"}
KUBE04 = {"alertname": "KubeNodeNotReady", "node": "kube04", "severity": "warning"}
OSD = {"alertname": "CephOSDDown", "ceph_daemon": "osd.2"}


class Am:
    def __init__(self, url: str, config: Path) -> None:
        self.url, self.config = url, config

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(app, ["--config", str(self.config), *args])

    def silences(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/api/v2/silences", timeout=5).json())

    def state(self, labels: dict[str, str]) -> str:
        alerts = requests.get(f"{self.url}/api/v2/alerts", timeout=5).json()
        return next(a["status"]["state"] for a in alerts if a["fingerprint"] == fingerprint(labels))


def _config(path: Path, alertmanager_url: str | None) -> Path:
    return offline_config(path, **({"alertmanager": {"url": alertmanager_url}} if alertmanager_url else {}))


@pytest.fixture
def am(tmp_path: Path) -> Iterator[Am]:
    with alertmanager(tmp_path, NULL_ROUTE) as url:
        posted = requests.post(f"{url}/api/v2/alerts", json=[{"labels": ls} for ls in (KUBE03, KUBE04, OSD)],
                               timeout=5)
        assert posted.status_code == 200, posted.text
        wait_for(lambda: len(requests.get(f"{url}/api/v2/alerts", timeout=5).json()) == 3, what="alerts")
        yield Am(url, _config(tmp_path / "drewburr.yaml", url))


def test_a_silence_by_name_suppresses_that_alert_is_listed_and_expires(am: Am) -> None:
    made = am.cli("silence", "KubeNodeNotReady", "2h", "firmware", "upgrade")
    assert made.exit_code == 0, made.output
    assert "Silenced alertname='KubeNodeNotReady'" in made.output and "matches 2 alert(s)" in made.output
    (silence,) = am.silences()
    assert silence["status"]["state"] == "active" and silence["comment"] == "firmware upgrade"
    assert silence["createdBy"].startswith("cli:")
    assert silence["matchers"] == [{"name": "alertname", "value": "KubeNodeNotReady", "isRegex": False,
                                    "isEqual": True}]
    wait_for(lambda: am.state(KUBE03) == "suppressed" and am.state(KUBE04) == "suppressed", what="suppressed")
    assert am.state(OSD) == "active"
    listed = am.cli("silence", "list")
    assert listed.exit_code == 0 and silence["id"] in listed.output and "firmware upgrade" in listed.output
    expired = am.cli("silence", "expire", silence["id"])
    assert expired.exit_code == 0, expired.output
    assert [s["status"]["state"] for s in am.silences()] == ["expired"]
    wait_for(lambda: am.state(KUBE03) == "active", what="the alert active again")
    again = am.cli("silence", "expire", silence["id"])
    assert again.exit_code == 2 and "already expired" in again.output
    assert am.cli("silence", "list").output.strip() == "No active or pending silences."


def test_dry_run_says_what_it_would_silence_or_expire_and_changes_nothing(am: Am) -> None:
    would = am.cli("silence", "KubeNodeNotReady", "1h", "--dry-run")
    assert would.exit_code == 0 and "Would silence alertname='KubeNodeNotReady'" in would.output
    assert "matches 2 alert(s)" in would.output and am.silences() == []
    made = am.cli("silence", "CephOSDDown", "1h", "--yes")  # --yes: what it does anyway
    assert made.exit_code == 0, made.output
    (silence,) = am.silences()
    kept = am.cli("silence", "expire", silence["id"], "--dry-run")
    assert kept.exit_code == 0 and f"Would expire silence {silence['id']}" in kept.output
    assert [s["status"]["state"] for s in am.silences()] == ["active"]
    listed = am.cli("silence", "list", "--dry-run")
    assert listed.exit_code == 2 and "silence list does not take '--dry-run'" in listed.output


def test_a_silence_by_fingerprint_matches_exactly_that_alert(am: Am) -> None:
    made = am.cli("silence", fingerprint(KUBE03), "30m")
    assert made.exit_code == 0, made.output
    (silence,) = am.silences()
    assert {m["name"]: m["value"] for m in silence["matchers"]} == KUBE03
    assert silence["comment"].startswith("silenced from drewburr by cli:")
    wait_for(lambda: am.state(KUBE03) == "suppressed", what="kube03 suppressed")
    assert am.state(KUBE04) == "active"


@pytest.mark.parametrize(("args", "says"), [
    (["silence", "KubeNodeNotReady", "2x"], "duration '2x' is not like 30m, 2h, 1d or 1h30m"),
    (["silence", "KubeNodeNotReady", "0m"], "must be more than 0 and at most 90d"),
    (["silence", "KubeNodeNotReady", "91d"], "must be more than 0 and at most 90d"),
    (["silence", "KubeNodeNotReady"], "silence takes ALERTNAME|FINGERPRINT DURATION"),
    (["silence", "0123456789abcdef", "1h"], "no alert with fingerprint 0123456789abcdef"),
    (["silence", "", "1h"], "name the alert (ALERTNAME) or give its FINGERPRINT"),
    (["silence", "expire", "nope"], "'nope' is not a silence ID"),
    (["silence", "expire", "00000000-0000-0000-0000-000000000000"], "has no silence 00000000"),
    (["silence", "explode", "1h", "--now"], "No such option: --now"),
])
def test_bad_input_is_refused_naming_what_is_wrong_and_creates_nothing(am: Am, args: list[str],
                                                                       says: str) -> None:
    result = am.cli(*args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert am.silences() == []


def test_without_alertmanager_configured_or_reachable_it_says_so(tmp_path: Path) -> None:
    unset = CliRunner().invoke(app, ["--config", str(_config(tmp_path / "a.yaml", None)), "silence", "list"])
    assert unset.exit_code == 2 and "set alertmanager.url" in unset.output
    down = f"http://127.0.0.1:{free_port()}"
    gone = CliRunner().invoke(app, ["--config", str(_config(tmp_path / "b.yaml", down)), "silence", "list"])
    assert gone.exit_code == 1 and f"Alertmanager at {down}" in gone.output and "no answer" in gone.output
