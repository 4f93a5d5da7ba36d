"""Watch streams: newline-delimited `{"type", "object"}` events, as the API server's watch cache sends.

- no resourceVersion (or "0"): synthetic ADDED events for what exists, then changes;
- a resourceVersion: the changes after it, or one ERROR event with a 410 Expired Status
  when it is older than the history kept (the Python client's Watch retries once, then raises);
- with selectors, an object that stops matching arrives as DELETED, one that starts as ADDED;
- `allowWatchBookmarks`: BOOKMARK events carrying only the current resourceVersion, about once
  a lab minute and once 2 s before the watch times out;
- a resourceVersion the store has not reached yet: waited for up to 3 s, then 504 (lists too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lab.k8s.errors import BadRequest, K8sError, Timeout
from lab.k8s.registry import present
from lab.k8s.resources import Resource
from lab.k8s.store import Store, WatchEvent

Obj = dict[str, Any]
DEFAULT_TIMEOUT = 1800.0  # real seconds; the API server's --min-request-timeout
BOOKMARK_LAB_SECONDS = 60.0  # the watch cache sends a bookmark about once a minute
PRE_TIMEOUT_BOOKMARK = 2.0  # real seconds before the deadline (the cacher's nextBookmarkTime)
FRESH_WAIT = 3.0  # real seconds the watch cache waits for a resourceVersion it has not seen


@dataclass(frozen=True)
class WatchRequest:
    res: Resource
    namespace: str | None
    matches: Callable[[Obj], bool]
    resource_version: str
    bookmarks: bool
    timeout: float
    render: Callable[[Obj], Obj] | None = None  # e.g. as a one-row Table for `kubectl get -w`


def _line(kind: str, obj: Obj) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _event(req: WatchRequest, kind: str, obj: Obj) -> bytes:
    obj = present(req.res, obj)
    return _line(kind, req.render(obj) if req.render else obj)


def _bookmark(req: WatchRequest, rv: int) -> Obj:
    return {"kind": req.res.kind, "apiVersion": req.res.api_version, "metadata": {"resourceVersion": str(rv)}}


def _in_scope(req: WatchRequest, obj: Obj) -> bool:
    return req.namespace is None or obj.get("metadata", {}).get("namespace") == req.namespace


def translate(req: WatchRequest, event: WatchEvent) -> tuple[str, Obj] | None:
    """The event a watcher with these selectors sees, or None."""
    if event.resource.key != req.res.key or not _in_scope(req, event.obj):
        return None
    now = req.matches(event.obj)
    if event.type != "MODIFIED" or event.old is None:
        return (event.type, event.obj) if now else None
    before = req.matches(event.old)
    if now and before:
        return "MODIFIED", event.obj
    if now:
        return "ADDED", event.obj
    if before:
        gone = {**event.old, "metadata": {**event.old["metadata"], "resourceVersion": str(event.rv)}}
        return "DELETED", gone
    return None


def _initial(req: WatchRequest, store: Store) -> tuple[list[bytes], int]:
    """What the stream starts with, and the resourceVersion it continues after."""
    rv_text = req.resource_version
    if rv_text in ("", "0"):
        objects = store.list(req.res, req.namespace)
        lines = [_event(req, "ADDED", o) for o in objects if _in_scope(req, o) and req.matches(o)]
        return lines, store.resource_version
    rv = int(rv_text)
    lines = []
    for event in store.events_since(rv, req.res):
        seen = translate(req, event)
        if seen:
            lines.append(_event(req, *seen))
    return lines, max(rv, store.resource_version)


async def wait_until_fresh(store: Store, rv_text: str) -> None:
    """A resourceVersion newer than the store's: wait for it a little, then 504 as the watch cache does."""
    deadline = time.monotonic() + FRESH_WAIT
    while rv_text.isdigit() and int(rv_text) > store.resource_version:
        if time.monotonic() >= deadline:
            cause = {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            current = store.resource_version
            raise Timeout(f"Timeout: Too large resource version: {rv_text}, current: {current}",
                          {"causes": [cause], "retryAfterSeconds": 1})
        await asyncio.sleep(0.05)


def next_bookmark(now: float, every: float, end: float) -> float:
    pre_timeout = end - PRE_TIMEOUT_BOOKMARK
    return pre_timeout if now < pre_timeout < now + every else now + every


def parse_rv(text: str) -> str:
    if text and not text.isdigit():
        raise BadRequest(f'resourceVersion: Invalid value: "{text}": strconv.ParseUint: parsing '
                         f'"{text}": invalid syntax')
    return text


def _kind_gone(event: WatchEvent, res: Resource) -> bool:
    """The CRD serving a watched custom kind was deleted (its objects' DELETED events came first):
    the server ends the watch."""
    spec = event.obj.get("spec") or {}
    return (res.custom and event.type == "DELETED" and event.resource.kind == "CustomResourceDefinition"
            and spec.get("group") == res.group and (spec.get("names") or {}).get("plural") == res.plural)


async def serve(request: web.Request, store: Store, req: WatchRequest, scale: float,
                stopping: asyncio.Event) -> web.StreamResponse:
    await wait_until_fresh(store, req.resource_version)
    queue = store.subscribe()  # before reading history, so no event falls between the two
    try:
        try:
            lines, last_rv = _initial(req, store)
        except K8sError as exc:  # 410: the real server answers 200 and sends an ERROR event
            lines, last_rv = [_line("ERROR", exc.status())], -1
        response = web.StreamResponse(headers={"Content-Type": "application/json",
                                               "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if lines:
            await response.write(b"".join(lines))
        if last_rv >= 0:
            with contextlib.suppress(ConnectionResetError):
                await _follow(request, response, queue, req, last_rv, BOOKMARK_LAB_SECONDS / scale, stopping)
        return response
    finally:
        store.unsubscribe(queue)


async def _follow(request: web.Request, response: web.StreamResponse, queue: asyncio.Queue[WatchEvent],
                  req: WatchRequest, last_rv: int, bookmark_every: float, stopping: asyncio.Event) -> None:
    """Stream changes after `last_rv`; a bookmark names the newest resourceVersion already dealt with."""
    end = time.monotonic() + req.timeout
    bookmark_at = next_bookmark(time.monotonic(), bookmark_every, end)
    # wake at least once a second: a client that went away must not keep a queue growing
    while (now := time.monotonic()) < end and not stopping.is_set():
        if request.transport is None or request.transport.is_closing():
            return
        if req.bookmarks and now >= bookmark_at:
            await response.write(_line("BOOKMARK", _bookmark(req, last_rv)))
            bookmark_at = next_bookmark(now, bookmark_every, end)
        wait = min(end, bookmark_at if req.bookmarks else end, now + 1.0) - now
        try:
            event = await asyncio.wait_for(queue.get(), timeout=max(wait, 0.001))
        except TimeoutError:
            continue
        if _kind_gone(event, req.res):
            return
        if event.rv <= last_rv:
            continue
        last_rv = event.rv
        seen = translate(req, event)
        if seen:
            await response.write(_event(req, *seen))
