"""Every real webhook body parses; bad ones are refused naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alert_handlers.alert import fingerprint, from_alertmanager, from_grafana
from alert_handlers.payloads import AlertmanagerPayload, GrafanaPayload, PayloadError, parse
from tests.conftest import REFERENCE

ALERTS = REFERENCE / "alerts"
AM_FILES = sorted(ALERTS.glob("alertmanager-*.json"))
GRAFANA_FILES = sorted(ALERTS.glob("grafana-*.json"))


def test_the_reference_folder_has_both_senders() -> None:
    assert len(AM_FILES) >= 4 and len(GRAFANA_FILES) >= 2


@pytest.mark.parametrize("path", AM_FILES, ids=lambda p: p.name)
def test_every_alertmanager_body_parses_into_alerts(path: Path) -> None:
    body = path.read_bytes()
    alerts = from_alertmanager(parse(AlertmanagerPayload, body))
    raw = json.loads(body)["alerts"]
    assert len(alerts) == len(raw) > 0
    for alert, sent in zip(alerts, raw, strict=True):
        assert alert.name == sent["labels"]["alertname"] and alert.source == "alertmanager"
        assert alert.status == sent.get("status", json.loads(body)["status"])
        assert alert.fingerprint == sent.get("fingerprint", fingerprint(sent["labels"]))


@pytest.mark.parametrize("path", GRAFANA_FILES, ids=lambda p: p.name)
def test_every_grafana_body_parses_into_alerts(path: Path) -> None:
    alerts = from_grafana(parse(GrafanaPayload, path.read_bytes()))
    raw = json.loads(path.read_bytes())["alerts"]
    assert [a.fingerprint for a in alerts] == [r["fingerprint"] for r in raw]
    assert all(a.source == "grafana" and a.status in ("firing", "resolved") for a in alerts)


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "the body is not JSON"),
    (b"[]", "the body must be a JSON object"),
    (b'{"version": "3", "groupKey": "x", "status": "firing", "alerts": []}', "version: Input should be '4'"),
    (b'{"version": "4", "groupKey": "x", "status": "firing"}', "alerts: Field required"),
    (b'{"version": "4", "groupKey": "x", "status": "firing", "alerts": [{"labels": {"node": 3}, '
     b'"startsAt": "2024-01-01T00:00:00Z"}]}', "alerts.0.labels.node: Input should be a valid string"),
    (b'{"version": "4", "groupKey": "x", "status": "burning", "alerts": []}', "status: Input should be"),
])
def test_a_bad_alertmanager_body_is_refused_naming_the_field(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as refused:
        parse(AlertmanagerPayload, body)
    assert str(refused.value).startswith(message)


def test_nanosecond_timestamps_as_alertmanager_writes_them_parse() -> None:
    body = json.dumps({"version": "4", "groupKey": "g", "status": "firing", "alerts": [
        {"labels": {"alertname": "A"}, "startsAt": "2018-03-07T06:33:21.873077559-05:00"}]}).encode()
    (alert,) = from_alertmanager(parse(AlertmanagerPayload, body))
    assert alert.starts_at.isoformat().startswith("2018-03-07T06:33:21.873077")


def test_the_fingerprint_is_fnv1a_over_sorted_labels() -> None:
    assert fingerprint({}) == "cbf29ce484222325"  # FNV-1a 64's offset basis: nothing hashed
    assert fingerprint({"b": "2", "a": "1"}) == fingerprint({"a": "1", "b": "2"})
    assert fingerprint({"a": "1b"}) != fingerprint({"a1": "b"})  # the separator keeps pairs apart
