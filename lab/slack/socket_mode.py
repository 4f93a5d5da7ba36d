"""Socket Mode: `apps.connections.open` hands out a one-use URL; the app's websocket gets `hello`,
then envelopes, each to one of its connections (at most 10), and acks each by `envelope_id`.

Slack waits 3 seconds for an ack; without one the user sees the command fail. The twin can
also drop a link without a word, stall it (no frames, no pongs: a link that died silently), or
ask for a refresh (`disconnect` with `refresh_requested`), as Slack does every few hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

Obj = dict[str, Any]
MAX_LINKS = 10
ACK_SECONDS = 3.0  # Slack's limit, in real seconds: a person is waiting


@dataclass
class Link:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    stalled: bool = False
    acks: dict[str, asyncio.Future[Obj]] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    envelope_id: str
    acked: bool
    payload: Obj | None  # what the ack carried (a slash command's response, for instance)


class SocketMode:
    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.tickets: set[str] = set()
        self.links: dict[int, Link] = {}
        self.opened = 0  # connections ever made: a test sees a reconnect
        self._ids = itertools.count(1)
        self._turn = itertools.count()

    def open_url(self, host: str) -> str:
        ticket = secrets.token_hex(16)
        self.tickets.add(ticket)
        return f"ws://{host}/link/?ticket={ticket}"

    def live(self) -> list[Link]:
        return [link for link in self.links.values() if not link.ws.closed]

    async def serve(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:  # a URL is good for one connection
            return web.Response(status=401, text="invalid or used ticket")
        self.tickets.discard(ticket)
        if len(self.live()) >= MAX_LINKS:
            return await self._refuse(request)
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        link = Link(next(self._ids), ws, request)
        self.links[link.id], self.opened = link, self.opened + 1
        await ws.send_json({"type": "hello", "num_connections": len(self.live()),
                            "debug_info": {"host": "applink-lab", "build_number": 1,
                                           "approximate_connection_time": 18060},
                            "connection_info": {"app_id": self.app_id}})
        try:
            await self._read(link)
        finally:
            self.links.pop(link.id, None)
            for waiter in link.acks.values():
                waiter.cancel()
        return ws

    async def _refuse(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "disconnect", "reason": "too_many_websockets",
                            "num_connections": MAX_LINKS, "debug_info": {"host": "applink-lab"}})
        await ws.close()
        return ws

    async def _read(self, link: Link) -> None:
        async for msg in link.ws:
            if link.stalled:
                continue  # a dead link: nothing comes back, not even a pong
            if msg.type == WSMsgType.PING:
                await link.ws.pong(msg.data)
            elif msg.type == WSMsgType.TEXT:
                self._ack(link, msg.data)

    def _ack(self, link: Link, text: str) -> None:
        with contextlib.suppress(ValueError, AttributeError):
            data = json.loads(text)
            waiter = link.acks.get(str(data.get("envelope_id")))
            if waiter is not None and not waiter.done():
                waiter.set_result(data.get("payload") or {})

    async def deliver(self, kind: str, payload: Obj, accepts_response_payload: bool) -> Delivery:
        """Send one envelope to one live link and wait for its ack; no link or no ack is a failure."""
        envelope_id = str(uuid.uuid4())
        links = self.live()
        if not links:
            return Delivery(envelope_id, False, None)
        link = links[next(self._turn) % len(links)]
        waiter: asyncio.Future[Obj] = asyncio.get_running_loop().create_future()
        link.acks[envelope_id] = waiter
        try:
            if not link.stalled:
                await link.ws.send_json({"envelope_id": envelope_id, "payload": payload, "type": kind,
                                         "accepts_response_payload": accepts_response_payload,
                                         "retry_attempt": 0, "retry_reason": ""})
            return Delivery(envelope_id, True, await asyncio.wait_for(waiter, ACK_SECONDS))
        except (TimeoutError, asyncio.CancelledError, ConnectionResetError):
            return Delivery(envelope_id, False, None)
        finally:
            link.acks.pop(envelope_id, None)

    async def fault(self, name: str) -> int:
        """drop | stall | refresh every live link; returns how many it touched."""
        links = self.live()
        for link in links:
            if name == "stall":
                link.stalled = True
            elif name == "refresh":
                await link.ws.send_json({"type": "disconnect", "reason": "refresh_requested",
                                         "debug_info": {"host": "applink-lab"}})
                await link.ws.close()
            elif link.request.transport is not None:  # drop: the TCP connection just goes away
                link.request.transport.abort()
        return len(links)
