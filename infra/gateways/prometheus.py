"""Prometheus through prometheus-api-client: instant queries and the firing `ALERTS`."""

from __future__ import annotations

from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from pydantic import BaseModel
from urllib3.util.retry import Retry

from infra.errors import GatewayError, Unavailable, cause
from infra.gateways._calls import Caller

SYSTEM = "prometheus"


class Sample(BaseModel):
    labels: dict[str, str]
    value: float


def translate(exc: Exception) -> GatewayError:
    if isinstance(exc, requests.RequestException):
        return Unavailable(SYSTEM, f"no answer ({cause(exc)})", hint="prometheus.url and that it is up")
    if isinstance(exc, PrometheusApiClientException):
        return GatewayError(SYSTEM, str(exc))
    return GatewayError(SYSTEM, f"{type(exc).__name__}: {exc}")


def parse_vector(result: list[dict[str, Any]]) -> list[Sample]:
    """An instant vector (`[{metric: {...}, value: [ts, "v"]}]`) as samples."""
    return [Sample(labels=r.get("metric", {}), value=float(r["value"][1])) for r in result]


class PrometheusGateway:
    def __init__(self, url: str, timeout: int = 10) -> None:
        # The library's own retries are off: `Caller.read` retries, with one policy for every gateway.
        self._prom = PrometheusConnect(url=url, disable_ssl=False, retry=Retry(total=0), timeout=timeout)
        self.caller = Caller(SYSTEM, translate, url=url)

    async def query(self, promql: str) -> list[Sample]:
        return parse_vector(await self.caller.read("query", lambda: self._prom.custom_query(promql)))

    async def alerts(self, state: str = "firing") -> list[dict[str, str]]:
        """Labels of each alert in `state` (firing or pending), from the `ALERTS` series."""
        return [s.labels for s in await self.query(f'ALERTS{{alertstate="{state}"}}')]
