"""Routes of the Slack twin: parse the call, check the token and the rate, call the workspace.

Web API calls answer HTTP 200 with `ok` true or false (Slack's way), 429 with `Retry-After`
when rate limited, 404 `unknown_method`. Arguments come as a query string, a form or a JSON
object; a JSON call must carry its token in the Authorization header, as Slack requires.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lab.slack.errors import RateLimited, SlackError
from lab.slack.models import Workspace

if TYPE_CHECKING:
    from lab.slack.app import SlackTwin

Obj = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One Web API call as a method sees it: the twin, the arguments, the caller's token kind."""
    twin: SlackTwin
    args: Obj
    now: float
    kind: str  # bot | app
    host: str  # where the caller reached the twin (Socket Mode URLs point back at it)


Method = Callable[[Call], Obj]
BOT, APP = "bot", "app"
# method -> (token kinds it takes, what it does)
METHODS: dict[str, tuple[frozenset[str], Method]] = {
    "auth.test": (frozenset({BOT, APP}), lambda c: c.twin.workspace.auth_test(c.kind)),
    "chat.postMessage": (frozenset({BOT}), lambda c: c.twin.workspace.chat_postMessage(c.args, c.now)),
    "chat.update": (frozenset({BOT}), lambda c: c.twin.workspace.chat_update(c.args, c.now)),
    "chat.postEphemeral": (frozenset({BOT}), lambda c: c.twin.workspace.chat_postEphemeral(c.args)),
    "chat.delete": (frozenset({BOT}), lambda c: c.twin.workspace.chat_delete(c.args)),
    "conversations.info": (frozenset({BOT}), lambda c: c.twin.workspace.conversations_info(c.args)),
    "conversations.history": (frozenset({BOT}), lambda c: c.twin.workspace.conversations_history(c.args)),
    "conversations.replies": (frozenset({BOT}), lambda c: c.twin.workspace.conversations_replies(c.args)),
    "users.info": (frozenset({BOT}), lambda c: c.twin.workspace.users_info(c.args)),
    "usergroups.list": (frozenset({BOT}), lambda c: c.twin.workspace.usergroups_list()),
    "usergroups.users.list": (frozenset({BOT}), lambda c: c.twin.workspace.usergroups_users_list(c.args)),
    "files.getUploadURLExternal": (frozenset({BOT}), lambda c: c.twin.workspace.files_getUploadURLExternal(
        c.args, c.host)),
    "files.completeUploadExternal": (frozenset({BOT}),
                                     lambda c: c.twin.workspace.files_completeUploadExternal(c.args, c.now)),
    "apps.connections.open": (frozenset({APP}), lambda c: {"url": c.twin.socket.open_url(c.host)}),
}


SLACK_KEY = web.AppKey("slack", object)


def twin_of(request: web.Request) -> SlackTwin:
    return request.app[SLACK_KEY]  # type: ignore[return-value]


def _answer(body: Obj, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


async def _arguments(request: web.Request) -> tuple[Obj, str | None]:
    """(arguments, token): from the query, a form or a JSON object."""
    args: Obj = dict(request.query)
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text())
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("json_not_object")
            return {**args, **body}, token  # a token in a JSON body is not read: Slack's rule
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args, token or args.pop("token", None)


def _token_kind(workspace: Workspace, token: str | None) -> str:
    if not token:
        raise SlackError("not_authed")
    if token == workspace.bot_token:
        return BOT
    if token == workspace.app_token:
        return APP
    raise SlackError("invalid_auth")


async def web_api(request: web.Request) -> web.Response:
    twin, method = twin_of(request), request.match_info["method"]
    if method not in METHODS:
        return _answer({"ok": False, "error": "unknown_method"}, 404)
    kinds, call = METHODS[method]
    try:
        args, token = await _arguments(request)
        twin.calls.append((method, {k: v for k, v in args.items() if k != "token"}))
        kind = _token_kind(twin.workspace, token)
        if kind not in kinds:
            raise SlackError("not_allowed_token_type")
        twin.limits.check(method, twin.clock())
        result = call(Call(twin, args, twin.clock(), kind, request.host))
    except RateLimited as exc:
        return _answer(exc.body(), 429, {"Retry-After": str(exc.retry_after)})
    except SlackError as exc:
        return _answer(exc.body())
    return _answer({"ok": True, **result})


async def upload(request: web.Request) -> web.Response:
    """The upload URL of `files.getUploadURLExternal`: the file's bytes, raw or as a form's file."""
    twin = twin_of(request)
    twin.calls.append(("upload", {}))
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        part = next((v for v in form.values() if isinstance(v, web.FileField)), None)
        content = part.file.read() if part else b""
    else:
        content = await request.read()
    try:
        file = twin.workspace.files.upload(request.match_info["token"], content)
    except SlackError as exc:
        return web.Response(status=404, text=exc.code)
    return web.Response(text=f"OK - {len(file.content or b'')}")


async def link(request: web.Request) -> web.StreamResponse:
    return await twin_of(request).socket.serve(request)


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/api/{method}", web_api)
    app.router.add_get("/link/", link)
    app.router.add_post("/upload/v1/{token}", upload)
