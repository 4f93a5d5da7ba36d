"""The one place a PVE domain error becomes pveproxy's HTTP answer.

pveproxy (PVE::APIServer::Formatter::Standard, format `json`) answers an error with the
message as the HTTP reason phrase (its first line) and the body
`{"data": null, "message": "...\\n"}`, plus `"errors": {field: msg}` for a 400.
Authentication failures carry no body at all. Anything else that goes wrong in the lab
is a 500 in the same shape, never a traceback.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from lab.pve.domain import PveError
from lab.pve.schema import API_ROOT, DataTooLarge, Handler, NotImplementedMethod

log = logging.getLogger(__name__)
JSON_TYPE = "application/json;charset=UTF-8"


def pve_error_response(status: int, message: str, errors: dict[str, str] | None = None,
                       body: bool = True) -> web.Response:
    reason = (message.splitlines() or [""])[0].strip() or "Error"
    # a reason phrase may not carry control characters (RFC 9112), whatever value a caller sent
    reason = "".join(c if c.isprintable() else "?" for c in reason)
    if not body:
        return web.Response(status=status, reason=reason)
    data: dict[str, object] = {"data": None, "message": message.rstrip("\n") + "\n"}
    if errors:
        data["errors"] = errors
    return web.Response(status=status, reason=reason, text=json.dumps(data),
                        headers={"Content-Type": JSON_TYPE})


def response_for(err: PveError) -> web.Response:
    return pve_error_response(err.status, err.message, err.errors or None)


@web.middleware
async def pve_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except PveError as err:
        return response_for(err)
    except web.HTTPException as exc:
        if exc.status in (404, 405):  # a schema path the lab does not serve
            return response_for(NotImplementedMethod(request.method, _rel(request.path)))
        if exc.status == 413:  # a chunked body past aiohttp's own limit
            return response_for(DataTooLarge())
        if exc.status < 400:
            raise
        return pve_error_response(exc.status, exc.reason)
    except Exception as exc:  # the lab's own bug: say so in PVE's shape, log the traceback
        log.exception("lab: unexpected error in %s %s", request.method, request.path)
        return pve_error_response(500, f"internal error - {type(exc).__name__}: {exc}")


def _rel(path: str) -> str:
    return path.removeprefix(API_ROOT) or "/"
