"""POST /alerts/alertmanager and /alerts/grafana: authenticate, bound, parse, queue; 202 once queued.

Answers are JSON with an `error` that names what was wrong: 401 (with the reason), 413 past
the body limit, 400 naming the field, 415 for a body that is not JSON. Bad input never gets
a 500, and nothing is queued for a refused body.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from alert_handlers.ingest import Ingest, Ingested
from alert_handlers.payloads import PayloadError
from alert_handlers.webhook_auth import check_grafana, check_token

MAX_BODY = 1024 * 1024  # Alertmanager's largest groups are tens of KiB; a MiB leaves room, no more
GRAFANA_SIGNATURE = "X-Grafana-Alerting-Signature"


def _error(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="drewburr"'} if status == 401 else None
    return web.json_response({"error": message}, status=status, headers=headers)


async def _body(request: web.Request) -> bytes | web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _error(413, f"body of {request.content_length} bytes is over the limit of {MAX_BODY}")
    # `content.read(n)` returns what has arrived so far, not the whole body: read to the end, bounded
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY:
            return _error(413, f"body is over the limit of {MAX_BODY} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.content_type not in ("application/json", "application/octet-stream", ""):
        return _error(415, f"body must be JSON, not {request.content_type}")
    return body


Handler = Callable[[web.Request], Awaitable[web.Response]]


async def _accept(request: web.Request, ingest: Callable[[bytes], Ingested],
                  signed: Callable[[bytes], str | None] | None = None) -> web.Response:
    """Bound the body, check its signature when the sender signs, then parse and queue it."""
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    refused = signed(body) if signed else None
    if refused:
        return _error(401, refused)
    try:
        result = ingest(body)
    except PayloadError as exc:
        return _error(400, str(exc))
    return web.json_response({"accepted": result.accepted, "duplicates": result.duplicates}, status=202)


def alertmanager_handler(ingest: Ingest, token: str) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        refused = check_token(request.headers.get("Authorization"), token)
        return _error(401, refused) if refused else await _accept(request, ingest.alertmanager)
    return handle


def grafana_handler(ingest: Ingest, token: str, secret: str | None, timestamp_header: str | None,
                    clock: Callable[[], float] = time.time) -> Handler:
    """Grafana signs with HMAC when a secret is configured; otherwise it sends the token."""
    async def handle(request: web.Request) -> web.Response:
        if secret is None:
            refused = check_token(request.headers.get("Authorization"), token)
            return _error(401, refused) if refused else await _accept(request, ingest.grafana)

        def signed(body: bytes) -> str | None:
            stamp = request.headers.get(timestamp_header) if timestamp_header else None
            return check_grafana(secret, body, request.headers.get(GRAFANA_SIGNATURE), stamp, clock(),
                                 timestamp_required=timestamp_header is not None)
        return await _accept(request, ingest.grafana, signed)
    return handle


def add_routes(app: web.Application, ingest: Ingest, token: str, grafana_secret: str | None = None,
               grafana_timestamp_header: str | None = None) -> None:
    app.router.add_post("/alerts/alertmanager", alertmanager_handler(ingest, token))
    app.router.add_post("/alerts/grafana",
                        grafana_handler(ingest, token, grafana_secret, grafana_timestamp_header))


