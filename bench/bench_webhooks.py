"""Webhook ingest: /alerts/alertmanager (auth, parse, dedup, enqueue) at 100 concurrent senders,
beside a bare aiohttp handler that only reads the same JSON, in the same run.

Each server runs on its own event loop in a thread, as `serve` would; the senders share
another loop. Every body is a distinct notification (new fingerprints), so dedup keeps and
queues every alert. Figures are medians of alternating runs; the ratio is what to compare.

The latency a sender sees is measured twice: with each sender posting again as soon as it
is answered (the rate run), and paced (each sender every 0.4 s: 250 bodies/s from the same 100
senders, under either server's rate, so what is measured is the answer, not the line).
Beside them, each server's thread CPU time per request
(all of it: HTTP parsing, the handler, writing the answer). With 100 senders always in
flight the latency is mostly waiting in line: by Little's law its mean is 100 / requests per
second whatever the handler does (the bare handler's is as long), so it cannot be under 20 ms
on two shared cores. On a loaded machine the rate swings with the other processes; the CPU
per request does not count them, nor the GIL held by the senders' thread.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from alert_handlers.alert import Alert
from alert_handlers.ingest import Ingest, Ingested
from bench.load import post_all
from bot import webhooks
from tests.tools import free_port

SENDERS, REQUESTS, RUNS, TOKEN = 100, 2000, 3, "bench-token"
EVERY = 0.4  # paced: each sender posts every 0.4 s, 250 bodies/s in all, well under either server's rate


def _alert(node: str) -> dict[str, object]:
    return {"status": "firing", "startsAt": "2026-12-06T03:00:00Z", "annotations": {"summary": "Not ready."},
            "labels": {"alertname": "KubeNodeNotReady", "node": node}}


HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def _requests(run: int) -> list[tuple[bytes, dict[str, str]]]:
    return [(json.dumps({"version": "4", "groupKey": f"g{i}", "status": "firing", "receiver": "drewburr",
                         "alerts": [_alert(f"kube{run}-{i}-{j}") for j in range(2)]}).encode(), HEADERS)
            for i in range(REQUESTS)]


async def _bare(request: web.Request) -> web.Response:
    json.loads(await request.read())
    return web.json_response({"accepted": 0}, status=202)


@dataclass
class Served:
    url: str
    stop: Callable[[], None]
    cpu: Callable[[], float]  # CPU seconds the server's thread has used
    rates: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    cpu_per_request: list[float] = field(default_factory=list)
    paced_p99s: list[float] = field(default_factory=list)


def _serve(setup: Callable[[web.Application], None]) -> Served:
    """An app on its own loop in a thread."""
    loop, port, started = asyncio.new_event_loop(), free_port(), threading.Event()
    app = web.Application()
    setup(app)
    runner = web.AppRunner(app, access_log=None)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait()
    clock = time.pthread_getcpuclockid(thread.ident or 0)

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
    return Served(f"http://127.0.0.1:{port}", stop, lambda: time.clock_gettime(clock))


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def _ours(app: web.Application, taken: list[int]) -> None:
    """The webhook routes; each body's alerts are taken off the queue as soon as they are queued
    (in `serve` the remediation loop takes them): a queue left to grow would grow the heap, and
    the garbage collector's work, which `serve` does not have."""
    queue: asyncio.Queue[Alert] = asyncio.Queue()

    def take(source: str, ingested: Ingested) -> None:
        while not queue.empty():
            queue.get_nowait()
            taken[0] += 1
    webhooks.add_routes(app, Ingest(queue, time.time, observe=take), TOKEN)


def _bare_app(app: web.Application) -> None:
    app.router.add_post("/alerts/alertmanager", _bare)


def main() -> None:
    taken = [0]
    servers = {"bare": _serve(_bare_app), "ours": _serve(lambda app: _ours(app, taken))}
    try:
        for run in range(RUNS):
            for s in servers.values():
                cpu = s.cpu()
                load = post_all(f"{s.url}/alerts/alertmanager", _requests(run), SENDERS, ok=202)
                seconds, latencies = asyncio.run(load)
                s.cpu_per_request.append((s.cpu() - cpu) / REQUESTS)
                s.rates.append(2 * REQUESTS / seconds)
                s.p99s.append(_p99(latencies))
                paced = post_all(f"{s.url}/alerts/alertmanager", _requests(run + RUNS)[:REQUESTS // 2],
                                 SENDERS, ok=202, every=EVERY)
                s.paced_p99s.append(_p99(asyncio.run(paced)[1]))
    finally:
        for s in servers.values():
            s.stop()
    assert taken[0] == 3 * REQUESTS * RUNS  # every alert of every body (2 a body; half as many paced) once
    ours, bare = servers["ours"], servers["bare"]
    print(f"webhook ingest, {SENDERS} senders, {REQUESTS} bodies of 2 alerts, median of {RUNS}:")
    for label, s in (("/alerts/alertmanager", ours), ("bare aiohttp handler", bare)):
        print(f"  {label}: {statistics.median(s.rates):,.0f} alerts/s, "
              f"p99 {statistics.median(s.p99s) * 1e3:.1f} ms as sent "
              f"({statistics.median(s.paced_p99s) * 1e3:.1f} ms paced at {SENDERS / EVERY:.0f} bodies/s), "
              f"server CPU {statistics.median(s.cpu_per_request) * 1e3:.2f} ms per request")
    rate = statistics.median(ours.rates) / statistics.median(bare.rates)
    cpu = statistics.median(bare.cpu_per_request) / statistics.median(ours.cpu_per_request)
    print(f"  ratio: {rate:.2f}x the bare handler's rate (goal >= 0.6x, p99 < 20 ms); "
          f"{cpu:.2f}x by server CPU per request")
