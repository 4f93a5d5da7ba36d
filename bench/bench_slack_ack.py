"""Ack latency of signed slash commands: drewburr's bolt app (HTTP mode, request verification,
its real `/drewburr` listener that acks first) beside a bare bolt app whose listener only acks,
at 50 concurrent requests, in the same run. The commands are `help` from an unknown user, so
the work after each ack (a permission check through the lab's Slack twin) stays small.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bench.load import lazily, post_all
from bot.cli_ops import build_context
from bot.config import load_settings
from bot.slack_app import SlackFront
from lab.scenario import load_scenario
from lab.slack.people import sign
from tests.conftest import RunningLab
from tests.tools import free_port

CONCURRENT, REQUESTS, RUNS = 50, 1000, 3


def _body(i: int) -> bytes:
    return urlencode({"command": "/drewburr", "text": "help", "user_id": f"UBENCH{i}", "channel_id": "C0OPS",
                      "team_id": "T0LAB", "response_url": "http://127.0.0.1:9/none",
                      "trigger_id": str(i)}).encode()


async def _serve(app: AsyncApp) -> tuple[web.AppRunner, str]:
    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))
    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/slack/events"


def _signed(secret: str) -> Callable[[int], tuple[bytes, dict[str, str]]]:
    def make(i: int) -> tuple[bytes, dict[str, str]]:
        body, stamp = _body(i), str(int(time.time()))
        return body, {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                      "X-Slack-Signature": sign(secret, stamp, body)}
    return make


async def _bench(settings: Any, secret: str) -> dict[str, tuple[list[float], list[float]]]:
    ours = SlackFront(settings, build_context(settings)).app
    bare = AsyncApp(signing_secret=secret, client=ours.client)

    @bare.command("/drewburr")
    async def ack_only(ack: Any) -> None:
        await ack()
    results: dict[str, tuple[list[float], list[float]]] = {"ours": ([], []), "bare": ([], [])}
    for _ in range(RUNS):
        for name, app in (("bare", bare), ("ours", ours)):
            runner, url = await _serve(app)
            seconds, latencies = await post_all(url, lazily(_signed(secret), REQUESTS), CONCURRENT)
            await runner.cleanup()
            results[name][0].append(REQUESTS / seconds)
            results[name][1].extend(latencies)
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, RunningLab(Path(tmp) / "lab", load_scenario(None),
                                                          time_scale=50) as lab:
        config = yaml.safe_load((lab.workdir / "drewburr.yaml").read_text())
        config["slack"]["mode"] = "http"
        (Path(tmp) / "bench.yaml").write_text(yaml.safe_dump(config))
        settings = load_settings(Path(tmp) / "bench.yaml")
        results = asyncio.run(_bench(settings, config["slack"]["signing_secret"]))
    print(f"slash command ack, {CONCURRENT} concurrent signed requests, {REQUESTS} per run, {RUNS} runs:")
    for name, label in (("ours", "drewburr's app"), ("bare", "bare bolt app (ack only)")):
        rates, latencies = results[name]
        q = statistics.quantiles(latencies, n=100)
        print(f"  {label}: {statistics.median(rates):,.0f} req/s, p50 {q[49] * 1e3:.1f} ms, "
              f"p99 {q[98] * 1e3:.1f} ms")
    ratio = statistics.median(results["ours"][0]) / statistics.median(results["bare"][0])
    print(f"  ratio: {ratio:.2f}x the bare app's throughput (goal >= 0.8x, p99 < 50 ms)")
