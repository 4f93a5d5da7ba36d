"""Helm chart repositories: the versions a repository's `index.yaml` lists for a chart.

Read before anything is installed, so a version that does not exist is refused up front instead
of failing in the cluster's helm-install Job. Indexes are cached per repository for one run.
"""

from __future__ import annotations

from typing import Any

import requests
import yaml

from infra.errors import GatewayError, Unavailable, cause
from infra.gateways._calls import Caller

SYSTEM = "helm repository"
TIMEOUT = 20.0  # kube-prometheus-stack's index is several MB


def translate(exc: Exception) -> GatewayError:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        kind = Unavailable if status >= 500 else GatewayError
        return kind(SYSTEM, f"{exc.response.url} answered {status}", status,
                    hint="the addon's repo in the config (addons.NAME.repo)")
    if isinstance(exc, requests.RequestException):
        return Unavailable(SYSTEM, f"no answer ({cause(exc)})", hint="addons.NAME.repo and the network")
    if isinstance(exc, yaml.YAMLError | ValueError):
        return GatewayError(SYSTEM, f"not a chart repository index: {cause(exc)}",
                            hint="addons.NAME.repo names a Helm repository")
    return GatewayError(SYSTEM, f"{type(exc).__name__}: {exc}")


class ChartRepos:
    def __init__(self) -> None:
        self.caller = Caller(SYSTEM, translate)
        self.indexes: dict[str, dict[str, Any]] = {}

    def _fetch(self, repo: str) -> dict[str, Any]:
        response = requests.get(f"{repo.rstrip('/')}/index.yaml", timeout=TIMEOUT)
        response.raise_for_status()
        index = yaml.safe_load(response.text)
        if not isinstance(index, dict) or not isinstance(index.get("entries"), dict):
            raise ValueError("no entries")
        return index

    async def versions(self, repo: str, chart: str) -> list[str]:
        """The chart's versions the repository publishes, newest first as the index lists them."""
        if repo not in self.indexes:
            self.indexes[repo] = await self.caller.read("read index.yaml", lambda: self._fetch(repo))
        entries = self.indexes[repo]["entries"].get(chart) or []
        return [str(e.get("version")) for e in entries if isinstance(e, dict)]
