"""GET /healthz (the process answers), /readyz (it can do its job), /metrics (Prometheus text).

Readiness lists every check with its state, and is 503 while one fails, so a Kubernetes
probe and a person read the same answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

Check = Callable[[], Awaitable[str | None]]  # None when fine, else what is wrong


class Metrics:
    """drewburr's own figures, in a registry of its own (not the process-wide default)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.alerts = Counter("drewburr_alerts_received", "Alerts received by the webhooks",
                              ["source", "outcome"], registry=self.registry)
        self.decisions = Counter("drewburr_remediation_decisions", "Decisions on alerts",
                                 ["action"], registry=self.registry)
        self.holds = Counter("drewburr_remediation_holds", "Actions held back, by the gate that held them",
                             ["gate"], registry=self.registry)


def add_routes(app: web.Application, metrics: Metrics, checks: dict[str, Check]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        failing = {}
        for name, check in checks.items():
            problem = await check()
            if problem:
                failing[name] = problem
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
