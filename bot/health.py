"""GET /healthz (the process answers), /readyz (it can do its job), /metrics (Prometheus text).

Readiness lists every check with its state, and is 503 while one fails, so a Kubernetes
probe and a person read the same answer. Checks run together, each within CHECK_SECONDS: a
dependency that hangs is reported as down, it does not hang the probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import Metrics

Check = Callable[[], Awaitable[str | None]]  # None when fine, else what is wrong
CHECK_SECONDS = 3.0


async def _outcome(check: Check) -> str | None:
    try:
        return await asyncio.wait_for(check(), CHECK_SECONDS)
    except TimeoutError:
        return f"no answer within {CHECK_SECONDS:g} s"
    except Exception as exc:  # a check that breaks is a failing dependency, not a 500
        return f"{type(exc).__name__}: {exc}"


def add_routes(app: web.Application, metrics: Metrics, checks: Mapping[str, Check]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        outcomes = await asyncio.gather(*(_outcome(c) for c in checks.values()))
        failing = {name: problem for name, problem in zip(checks, outcomes, strict=True) if problem}
        metrics.ready.set(0 if failing else 1)
        lines = [f"[{'-' if name in failing else '+'}]{name} {failing.get(name, 'ok')}" for name in checks]
        status = 503 if failing else 200
        return web.Response(text="\n".join(lines) + f"\nreadyz check {'failed' if failing else 'passed'}\n",
                            status=status)

    async def scrape(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", scrape)
