"""The people's side of the twin (not Slack's API): type a command, press a button, read a channel.

The console and the tests drive the workspace through these, as a person would through the
Slack client; faults for the app's links and rate limits live here too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lab.slack.errors import SlackError
from lab.slack.routes import twin_of

Obj = dict[str, Any]
LINK_FAULTS = ("drop", "stall", "refresh")


def _bad(message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=400)


async def _body(request: web.Request, *names: str) -> Obj:
    try:
        body = await request.json()
    except ValueError:
        raise SlackError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise SlackError("the body must be a JSON object")
    absent = [n for n in names if not isinstance(body.get(n), str)]
    if absent:
        raise SlackError(f"missing or not a string: {', '.join(absent)}")
    return body


def _handled(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except SlackError as exc:
            return _bad(exc.code)
    return wrapped


async def command(request: web.Request) -> web.Response:
    body = await _body(request, "user", "channel", "text")
    twin = twin_of(request)
    twin.people.base_url = f"http://{request.host}"
    outcome = await twin.people.command(body["user"], body["channel"], body["text"])
    return web.json_response(outcome.as_dict())


async def press(request: web.Request) -> web.Response:
    body = await _body(request, "user", "channel", "message_ts", "action_id")
    twin = twin_of(request)
    twin.people.base_url = f"http://{request.host}"
    outcome = await twin.people.press(body["user"], body["channel"], body["message_ts"], body["action_id"])
    return web.json_response(outcome.as_dict())


async def response_url(request: web.Request) -> web.Response:
    twin = twin_of(request)
    body = await _body(request)
    try:
        result = twin.people.respond(request.match_info["token"], body, twin.clock())
    except SlackError as exc:
        return web.json_response(exc.body(), status=404 if exc.code == "expired_url" else 400)
    return web.json_response({"ok": True, **result})


async def messages(request: web.Request) -> web.Response:
    """A channel as a person sees it: its messages with their threads, and what only they see."""
    twin, channel, user = twin_of(request), request.query.get("channel", ""), request.query.get("user", "")
    room = twin.workspace.channels.get(channel)
    if room is None:
        raise SlackError("channel_not_found")
    return web.json_response({
        "messages": [m.as_dict() for m in room.messages.values()],
        "ephemeral": [{"text": e.text, "blocks": e.blocks, "thread_ts": e.thread_ts}
                      for e in twin.workspace.ephemeral if e.channel == channel and e.user == user]})


async def fault(request: web.Request) -> web.Response:
    body = await _body(request, "fault")
    twin = twin_of(request)
    if body["fault"] in LINK_FAULTS:
        return web.json_response({"ok": True, "links": await twin.socket.fault(body["fault"])})
    if body["fault"] == "ratelimit":
        count, retry_after = body.get("count", 1), body.get("retry_after", 1)
        if not isinstance(body.get("method"), str) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (count, retry_after)):
            raise SlackError("ratelimit takes method (string), count and retry_after (whole numbers)")
        twin.limits.force(body["method"], count, retry_after)
        return web.json_response({"ok": True})
    choices = ", ".join([*LINK_FAULTS, "ratelimit"])
    raise SlackError(f"unknown fault {body['fault']!r}: choose one of {choices}")


async def envelope(request: web.Request) -> web.Response:
    """Deliver a raw Socket Mode envelope of any `type` (what Slack sends for features the app may
    not know); answers whether the app acked it."""
    body = await _body(request, "type")
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        raise SlackError("payload must be a JSON object")
    delivery = await twin_of(request).socket.deliver(body["type"], payload, False)
    return web.json_response({"ok": True, "envelope_id": delivery.envelope_id, "acked": delivery.acked})


async def request_url(request: web.Request) -> web.Response:
    """HTTP mode: where the app receives commands and button presses (its /slack/events)."""
    body = await _body(request, "url")
    if not body["url"].startswith(("http://", "https://")):
        raise SlackError("url must be http:// or https://")
    twin_of(request).people.request_url = body["url"]
    return web.json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    for path, handler in {"/lab/slack/command": command, "/lab/slack/press": press,
                          "/lab/slack/response/{token}": response_url, "/lab/slack/fault": fault,
                          "/lab/slack/request-url": request_url, "/lab/slack/envelope": envelope}.items():
        app.router.add_post(path, _handled(handler))
    app.router.add_get("/lab/slack/messages", _handled(messages))
