"""The alert webhooks over HTTP: a real Alertmanager delivers to them; bad input is refused, never a 500."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from alert_handlers.alert import Alert, fingerprint
from alert_handlers.ingest import Ingest
from alert_handlers.webhook_auth import grafana_signature
from bot import webhooks
from tests.conftest import REFERENCE
from tests.tools import alertmanager, free_port

TOKEN, SECRET = "hook-token", "grafana-secret"


class Server:
    def __init__(self, url: str, queue: asyncio.Queue[Alert]) -> None:
        self.url, self.queue = url, queue

    async def post(self, path: str, body: bytes, **headers: str) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as s, s.post(f"{self.url}{path}", data=body, headers={
                "Content-Type": "application/json", **headers}) as r:
            return r.status, await r.json()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    queue: asyncio.Queue[Alert] = asyncio.Queue()
    app = web.Application()
    webhooks.add_routes(app, Ingest(queue, time.time), TOKEN, SECRET, "X-Grafana-Alerting-Timestamp")
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Server(f"http://127.0.0.1:{port}", queue)
    await runner.cleanup()


BEARER = {"Authorization": f"Bearer {TOKEN}"}
AM_BODY = (REFERENCE / "alerts" / "alertmanager-prom_post_request_2_alerts.json").read_bytes()
GRAFANA_BODY = (REFERENCE / "alerts" / "grafana-webhook-example.json").read_bytes()


async def test_a_delivery_is_queued_once_however_often_it_comes(server: Server) -> None:
    answers = [await server.post("/alerts/alertmanager", AM_BODY, **BEARER) for _ in range(5)]
    assert answers[0] == (202, {"accepted": 2, "duplicates": 0})
    assert answers[1:] == [(202, {"accepted": 0, "duplicates": 2})] * 4
    assert server.queue.qsize() == 2


async def test_basic_auth_with_the_token_as_password_is_accepted(server: Server) -> None:
    basic = "Basic " + base64.b64encode(f"alertmanager:{TOKEN}".encode()).decode()
    assert (await server.post("/alerts/alertmanager", AM_BODY, Authorization=basic))[0] == 202


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "no Authorization header"), ({"Authorization": "Bearer nope"}, "wrong token")])
async def test_without_the_token_it_is_401_and_nothing_is_queued(server: Server, headers: dict[str, str],
                                                                 reason: str) -> None:
    assert await server.post("/alerts/alertmanager", AM_BODY, **headers) == (401, {"error": reason})
    assert server.queue.empty()


async def test_grafana_signed_with_a_fresh_timestamp_is_accepted_and_a_replay_is_not(server: Server) -> None:
    stamp = str(int(time.time()))
    signed = {"X-Grafana-Alerting-Signature": grafana_signature(SECRET, GRAFANA_BODY, stamp),
              "X-Grafana-Alerting-Timestamp": stamp}
    assert (await server.post("/alerts/grafana", GRAFANA_BODY, **signed))[0] == 202
    old = str(int(time.time()) - 3600)
    replay = {"X-Grafana-Alerting-Signature": grafana_signature(SECRET, GRAFANA_BODY, old),
              "X-Grafana-Alerting-Timestamp": old}
    status, answer = await server.post("/alerts/grafana", GRAFANA_BODY, **replay)
    assert status == 401 and "s away from now" in answer["error"]


@pytest.mark.parametrize(("body", "status", "error"), [
    (b"{", 400, "the body is not JSON"),
    (b'{"version": "4", "groupKey": "g", "status": "firing", "alerts": [{"labels": {}}]}', 400,
     "alerts.0.startsAt: Field required"),
    (b"x" * (webhooks.MAX_BODY + 1), 413, "body of 1048577 bytes is over the limit of 1048576"),
])
async def test_bad_bodies_are_refused_naming_what_is_wrong(server: Server, body: bytes, status: int,
                                                            error: str) -> None:
    got_status, answer = await server.post("/alerts/alertmanager", body, **BEARER)
    assert got_status == status and answer["error"].startswith(error)
    assert server.queue.empty()


async def test_a_large_valid_body_arriving_in_many_reads_is_read_whole(server: Server) -> None:
    """About 900 KiB, under the limit: the server receives it in many pieces and must read them all."""
    alerts = [{"labels": {"alertname": "KubeNodeNotReady", "node": f"kube{i}"},
               "startsAt": "2026-12-06T03:00:00Z", "annotations": {"description": "x" * 900}}
              for i in range(900)]
    body = json.dumps({"version": "4", "groupKey": "g", "status": "firing", "alerts": alerts}).encode()
    assert 800_000 < len(body) < webhooks.MAX_BODY
    answer = await server.post("/alerts/alertmanager", body, **BEARER)
    assert answer == (202, {"accepted": 900, "duplicates": 0})


@pytest.fixture
def delivering_alertmanager(server: Server, tmp_path: Path) -> Iterator[str]:
    """Alertmanager 0.25 routing every alert to our webhook with the bearer token, at once."""
    config = {"route": {"receiver": "drewburr", "group_wait": "1s", "group_interval": "1s"},
              "receivers": [{"name": "drewburr", "webhook_configs": [{
                  "url": f"{server.url}/alerts/alertmanager", "send_resolved": True,
                  "http_config": {"authorization": {"credentials": TOKEN}}}]}]}
    with alertmanager(tmp_path, config) as url:
        yield url


async def test_a_real_alertmanager_delivers_to_the_webhook(server: Server,
                                                          delivering_alertmanager: str) -> None:
    """Its notification parses, with Alertmanager's own fingerprint."""
    labels = {"alertname": "KubeNodeNotReady", "node": "kube03", "severity": "warning"}
    async with aiohttp.ClientSession() as s, s.post(f"{delivering_alertmanager}/api/v2/alerts",
                                                    json=[{"labels": labels}]) as r:
        assert r.status == 200
    alert = await asyncio.wait_for(server.queue.get(), 30)
    assert (alert.name, alert.status, alert.labels) == ("KubeNodeNotReady", "firing", labels)
    assert alert.fingerprint == fingerprint(labels) and alert.source == "alertmanager"
