"""Webhook ingest: /alerts/alertmanager (auth, parse, dedup, enqueue) at 100 concurrent senders,
beside a bare aiohttp handler that only reads the same JSON, in the same run.

Each server runs on its own event loop in a thread, as `serve` would; the senders share
another loop. Every body is a distinct notification (new fingerprints), so dedup keeps and
queues every alert. Figures are medians of alternating runs; the ratio is what to compare.

Two figures per server: the latency a sender sees, and the CPU time the server's thread spends
in the handler per request (mean and p99). With 100 senders always in flight, the first is
mostly waiting in line: by Little's law its mean is 100 / requests per second, whatever the
handler does (the bare handler's is as long), so on two shared cores it cannot be under 20 ms.
The second is the ingest path's own cost, and unlike wall time it does not count other
processes on the machine or this process's other thread (the senders) holding the GIL.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from alert_handlers.alert import Alert
from alert_handlers.ingest import Ingest
from bench.load import post_all
from bot import webhooks
from tests.tools import free_port

SENDERS, REQUESTS, RUNS, TOKEN = 100, 2000, 3, "bench-token"


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


def _timed(into: list[float]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware noting the server's own CPU time per request."""
    @web.middleware
    async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.thread_time()  # CPU of the server's thread only: not other processes, not GIL waits
        try:
            return await handler(request)
        finally:
            into.append(time.thread_time() - start)
    return timing


def _serve(setup: Callable[[web.Application], None],
           served: list[float] | None = None) -> tuple[str, Callable[[], None]]:
    """An app on its own loop in a thread; returns its URL and a stop function."""
    loop, port, started = asyncio.new_event_loop(), free_port(), threading.Event()
    app = web.Application(middlewares=[_timed(served)] if served is not None else [])
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

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
    return f"http://127.0.0.1:{port}", stop


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def _ours(app: web.Application, consumed: list[int]) -> None:
    """The webhook routes, and a consumer that takes each alert off the queue as `serve`'s remediation
    loop does (an undrained queue would grow the heap, and the garbage collector's pauses, without end)."""
    queue: asyncio.Queue[Alert] = asyncio.Queue()
    webhooks.add_routes(app, Ingest(queue, time.time), TOKEN)

    async def drain() -> None:
        while True:
            await queue.get()
            consumed[0] += 1

    async def start(app: web.Application) -> None:
        app["drain"] = asyncio.create_task(drain())

    async def stop(app: web.Application) -> None:
        app["drain"].cancel()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)


def main() -> None:
    consumed = [0]
    served: dict[str, list[float]] = {"ours": [], "bare": []}
    ours_url, stop_ours = _serve(lambda app: _ours(app, consumed), served["ours"])
    bare_url, stop_bare = _serve(lambda app: app.router.add_post("/alerts/alertmanager", _bare),
                                 served["bare"])
    rates: dict[str, list[float]] = {"ours": [], "bare": []}
    p99s: dict[str, list[float]] = {"ours": [], "bare": []}
    server_p99s: dict[str, list[float]] = {"ours": [], "bare": []}
    server_means: dict[str, list[float]] = {"ours": [], "bare": []}
    try:
        for run in range(RUNS):
            for name, url in (("bare", bare_url), ("ours", ours_url)):
                served[name].clear()
                load = post_all(f"{url}/alerts/alertmanager", _requests(run), SENDERS, ok=202)
                seconds, latencies = asyncio.run(load)
                rates[name].append(2 * REQUESTS / seconds)
                p99s[name].append(_p99(latencies))
                server_p99s[name].append(_p99(served[name]))
                server_means[name].append(statistics.mean(served[name]))
    finally:
        stop_ours()
        stop_bare()
    assert consumed[0] == 2 * REQUESTS * RUNS  # every alert of every body was queued once
    ours, bare = statistics.median(rates["ours"]), statistics.median(rates["bare"])
    print(f"webhook ingest, {SENDERS} senders, {REQUESTS} bodies of 2 alerts, median of {RUNS}:")
    for label, name, rate in (("/alerts/alertmanager", "ours", ours), ("bare aiohttp handler", "bare", bare)):
        print(f"  {label}: {rate:,.0f} alerts/s, p99 {statistics.median(p99s[name]) * 1e3:.1f} ms as sent; "
              f"server CPU per request {statistics.median(server_means[name]) * 1e3:.2f} ms mean, "
              f"{statistics.median(server_p99s[name]) * 1e3:.2f} ms p99")
    print(f"  ratio: {ours / bare:.2f}x the bare handler's rate (goal >= 0.6x, p99 < 20 ms)")
