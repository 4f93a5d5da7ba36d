"""Every request the lab serves is recorded, so tests can assert "exactly one POST .../migrate"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class RecordedRequest:
    api: str  # "pve" | "k8s" | "slack"
    method: str
    path: str
    query: str
    status: int


class Recorder:
    def __init__(self, limit: int = 100_000) -> None:
        self.requests: list[RecordedRequest] = []
        self.limit = limit

    def add(self, item: RecordedRequest) -> None:
        if len(self.requests) >= self.limit:
            del self.requests[: self.limit // 2]  # bounded: a long-running lab must not grow
        self.requests.append(item)

    def count(self, method: str, path_suffix: str, api: str | None = None) -> int:
        return sum(1 for r in self.requests
                   if r.method == method and r.path.endswith(path_suffix)
                   and (api is None or r.api == api))

    def middleware(self, api: str) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def record(request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                self.add(RecordedRequest(api, request.method, request.path,
                                         request.query_string, status))
        return record
