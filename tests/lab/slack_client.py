"""The lab's Slack twin served in-process, and a slack_sdk client of it, for tests: the `twin`
fixture (a pytest plugin of tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from lab.slack.app import SlackTwin, make_app


class Twin:
    def __init__(self, twin: SlackTwin, url: str) -> None:
        self.twin, self.url = twin, url
        self.api = f"{url}/api/"

    def client(self, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
        return AsyncWebClient(token=token or self.twin.workspace.bot_token, base_url=self.api, **kwargs)

    async def lab(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with aiohttp.ClientSession() as s, s.post(f"{self.url}/lab/slack/{path}", json=body) as r:
            return {"status": r.status, **await r.json()}


async def serve_app(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@asynccontextmanager
async def served_twin() -> AsyncIterator[Twin]:
    slack = SlackTwin(time.time)
    runner, port = await serve_app(make_app(slack))
    try:
        yield Twin(slack, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    async with served_twin() as served:
        yield served
