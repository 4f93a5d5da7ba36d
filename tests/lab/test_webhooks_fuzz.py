"""Fuzzing both alert webhooks over HTTP: thousands of generated bodies and headers (near-valid
payloads with wrong types, unicode and broken UTF-8, NaN, huge values, bodies around the size
limit, bad or odd credentials and signatures). Never a 5xx; every refusal is JSON with an `error`;
a 400 names the field (or says the body is not JSON / not an object); a 401 is exactly a failed
credential check; nothing refused is queued."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
import requests
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alert_handlers.alert import Alert
from alert_handlers.ingest import Ingest
from alert_handlers.payloads import AlertmanagerPayload, GrafanaPayload, PayloadError, parse
from alert_handlers.webhook_auth import grafana_signature
from bot import webhooks
from tests.tools import free_port

TOKEN, SECRET, STAMP = "fuzz-token", "fuzz-secret", "X-Grafana-Alerting-Timestamp"
FIELDS = {"/alerts/alertmanager": set(AlertmanagerPayload.model_fields),
          "/alerts/grafana": set(GrafanaPayload.model_fields)}
SETTINGS = settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))


class Served:
    """An ingest app on its own loop in a thread (as `serve` runs it): one for the whole module."""

    def __init__(self, secret: str | None) -> None:
        self.queue: asyncio.Queue[Alert] = asyncio.Queue()
        self.loop, port, started = asyncio.new_event_loop(), free_port(), threading.Event()
        app = web.Application(client_max_size=webhooks.MAX_BODY)
        webhooks.add_routes(app, Ingest(self.queue, time.time), TOKEN, secret, STAMP if secret else None)
        self.runner = web.AppRunner(app, access_log=None)

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.runner.setup())
            self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", port).start())
            started.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.runner.cleanup())
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait()
        self.url, self.http = f"http://127.0.0.1:{port}", requests.Session()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any, int]:
        """(status, the JSON answer, how many alerts were queued by it)."""
        before = self.queue.qsize()
        answer = self.http.post(self.url + path, data=body, headers=headers, timeout=30)
        try:
            parsed = answer.json()
        except ValueError:
            parsed = None
        return answer.status_code, parsed, self.queue.qsize() - before

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


@pytest.fixture(scope="module")
def token_server() -> Iterator[Served]:
    served = Served(None)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def signing_server() -> Iterator[Served]:
    served = Served(SECRET)
    yield served
    served.stop()


TEXT = st.text(max_size=12)  # any code point, lone surrogates too
WEIRD = (st.none() | st.booleans() | st.integers() | st.floats() | TEXT
         | st.lists(TEXT, max_size=2) | st.dictionaries(TEXT, TEXT, max_size=2))
HUGE = st.integers(0, 300_000).map(lambda n: "é" * n)  # two bytes each: bodies around the 1 MiB limit
TIMES = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()) | st.sampled_from(
    ["2026-12-06T03:00:00Z", "0001-01-01T00:00:00Z", "2026-13-40T99:99:99Z", ""])
VALUE = st.one_of(*[TEXT] * 7, HUGE)  # a huge value now and then, not in half the bodies
LABELS = st.dictionaries(st.sampled_from(["alertname", "node", "severity"]) | TEXT, VALUE, max_size=4)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right type, sometimes anything."""
    return st.one_of(valid, valid, valid, WEIRD)


ALERT = st.fixed_dictionaries({}, optional={
    "status": maybe(st.sampled_from(["firing", "resolved"])), "labels": maybe(LABELS),
    "annotations": maybe(LABELS), "startsAt": maybe(TIMES), "endsAt": maybe(TIMES),
    "fingerprint": maybe(st.text("0123456789abcdef", min_size=16, max_size=16)),
    "values": maybe(st.dictionaries(TEXT, st.floats() | st.integers() | st.none(), max_size=2))})
PAYLOAD = st.fixed_dictionaries({}, optional={
    "version": maybe(st.sampled_from(["4", "1"])), "groupKey": maybe(TEXT),
    "status": maybe(st.sampled_from(["firing", "resolved"])), "receiver": maybe(TEXT),
    "orgId": maybe(st.integers()), "truncatedAlerts": maybe(st.integers()),
    "commonLabels": maybe(LABELS), "alerts": maybe(st.lists(ALERT, max_size=4))})


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["payload", "payload", "payload", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    value = draw(PAYLOAD) if kind == "payload" else draw(WEIRD)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))  # NaN and Infinity stay in, as Go never sends
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes invalid UTF-8


# what HTTP carries in a header value (no DEL, no leading or trailing space)
LATIN1 = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
                 max_size=40).map(str.strip)
GOOD_AUTH = [f"Bearer {TOKEN}", "Basic " + base64.b64encode(f"alertmanager:{TOKEN}".encode()).decode()]
AUTH = (st.sampled_from([*GOOD_AUTH, None, "Bearer", "Bearer wrong", "Basic !!!", "Token x"]) | LATIN1
        | LATIN1.map(lambda s: f"Bearer {s}") | LATIN1.map(lambda s: f"Basic {s}"))
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "", "text/plain",
                                 "application/octet-stream"])


def check(path: str, status: int, answer: Any, queued: int) -> None:
    assert status in (202, 400, 401, 413, 415), (status, answer)
    assert isinstance(answer, dict)
    if status == 202:
        assert queued == answer["accepted"]
        return
    assert queued == 0 and isinstance(answer["error"], str) and answer["error"]
    if status == 400:
        error = answer["error"]
        plain = error.startswith(("the body is not JSON", "the body must be a JSON object"))
        assert plain or error.split(".", 1)[0].split(":", 1)[0] in FIELDS[path], error


@SETTINGS
@given(path=st.sampled_from(sorted(FIELDS)), body=bodies(), auth=AUTH, content_type=CONTENT_TYPES)
def test_any_body_and_credentials_get_a_clear_answer_never_a_5xx(token_server: Served, path: str, body: bytes,
                                                                 auth: str | None, content_type: str) -> None:
    headers = {"Content-Type": content_type, **({"Authorization": auth} if auth is not None else {})}
    status, answer, queued = token_server.post(path, body, headers)
    check(path, status, answer, queued)
    assert (status == 401) == (auth not in GOOD_AUTH), (auth, status, answer)
    if auth in GOOD_AUTH and content_type != "text/plain" and _parses(path, body):
        assert status == 202, answer  # what the models accept, the server accepts (whole, however sent)


def _parses(path: str, body: bytes) -> bool:
    try:
        parse(AlertmanagerPayload if path == "/alerts/alertmanager" else GrafanaPayload, body)
    except PayloadError:
        return False
    return True


STAMPS = st.sampled_from(["nan", "inf", "-inf", "1e999", "", "now"]) | st.integers().map(str) | LATIN1


@SETTINGS
@given(body=bodies(), signed=st.booleans(), stamp=st.none() | STAMPS, signature=st.none() | LATIN1)
def test_grafana_signatures_and_timestamps_of_any_shape_never_get_a_5xx(
        signing_server: Served, body: bytes, signed: bool, stamp: str | None, signature: str | None) -> None:
    if stamp == "now":
        stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", **({STAMP: stamp} if stamp is not None else {})}
    if signed:
        signature = grafana_signature(SECRET, body, stamp)
    if signature is not None:
        headers[webhooks.GRAFANA_SIGNATURE] = signature
    status, answer, queued = signing_server.post("/alerts/grafana", body, headers)
    check("/alerts/grafana", status, answer, queued)
    fresh = stamp is not None and _fresh(stamp)
    if not (signed and fresh):
        assert status == 401 or (status == 413 and len(body) > webhooks.MAX_BODY), (stamp, status, answer)


def _fresh(stamp: str) -> bool:
    try:
        return math.isfinite(float(stamp)) and abs(time.time() - float(stamp)) < 250
    except ValueError:
        return False
