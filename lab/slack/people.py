"""The people in the workspace: they type `/drewburr ...` and press buttons.

Slack turns each into a payload for the app: over Socket Mode when the app has a live link,
else as a signed HTTP POST to the app's request URL (HTTP mode). What the app answers (its ack
payload or HTTP body) is shown to the person, and its `response_url` accepts follow-ups.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from lab.slack.errors import SlackError
from lab.slack.models import Message, Workspace
from lab.slack.socket_mode import SocketMode

Obj = dict[str, Any]
COMMAND = "/drewburr"


@dataclass(frozen=True)
class Outcome:
    """What the person saw: the app's immediate answer, or Slack's failure text."""
    delivered: bool
    via: str  # socket | http | none
    response: Obj | None
    error: str | None = None

    def as_dict(self) -> Obj:
        return {"delivered": self.delivered, "via": self.via, "response": self.response, "error": self.error}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: v0= + HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class People:
    def __init__(self, workspace: Workspace, socket: SocketMode) -> None:
        self.workspace, self.socket = workspace, socket
        self.request_url: str | None = None  # HTTP mode: where Slack POSTs the app's requests
        self.base_url = ""  # this twin's own address, for response URLs
        self.responses: dict[str, tuple[str, str]] = {}  # response_url token -> (channel, user)

    def _who(self, user: str, channel: str) -> tuple[Obj, Obj]:
        person = self.workspace.users.get(user)
        room = self.workspace.channels.get(channel)
        if person is None or room is None or user not in room.members:
            raise SlackError("user_not_in_channel" if person and room else "user_not_found" if not person
                             else "channel_not_found")
        return person.info(self.workspace.team_id), room.info()

    def _response_url(self, channel: str, user: str) -> str:
        token = secrets.token_hex(8)
        self.responses[token] = (channel, user)
        return f"{self.base_url}/lab/slack/response/{token}"

    async def command(self, user: str, channel: str, text: str) -> Outcome:
        person, room = self._who(user, channel)
        payload = {"token": "lab-verification-token", "team_id": self.workspace.team_id,
                   "team_domain": self.workspace.team_domain, "channel_id": room["id"],
                   "channel_name": room["name"], "user_id": person["id"], "user_name": person["name"],
                   "command": COMMAND, "text": text, "api_app_id": self.workspace.app_id,
                   "is_enterprise_install": "false",
                   "response_url": self._response_url(channel, user), "trigger_id": secrets.token_hex(8)}
        return await self._send("slash_commands", payload, urlencode(payload).encode(),
                                "application/x-www-form-urlencoded")

    async def press(self, user: str, channel: str, message_ts: str, action_id: str) -> Outcome:
        person, room = self._who(user, channel)
        message = self.workspace.channels[channel].messages.get(message_ts)
        if message is None:
            raise SlackError("message_not_found")
        button = _button(message, action_id)
        if button is None:
            raise SlackError("action_not_found")
        block_id, element = button
        who = {"id": person["id"], "username": person["name"], "name": person["name"],
               "team_id": self.workspace.team_id}
        payload = {"type": "block_actions", "user": who,
                   "api_app_id": self.workspace.app_id, "token": "lab-verification-token",
                   "container": {"type": "message", "message_ts": message.ts, "channel_id": channel,
                                 "is_ephemeral": False},
                   "trigger_id": secrets.token_hex(8),
                   "team": {"id": self.workspace.team_id, "domain": self.workspace.team_domain},
                   "channel": {"id": channel, "name": room["name"]}, "message": message.as_dict(),
                   "response_url": self._response_url(channel, user),
                   "actions": [{"action_id": element.get("action_id"), "block_id": block_id,
                                "text": element.get("text"), "value": element.get("value"),
                                "type": element.get("type"), "action_ts": f"{time.time():.6f}"}]}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self._send("interactive", payload, body, "application/x-www-form-urlencoded")

    async def _send(self, kind: str, payload: Obj, body: bytes, media: str) -> Outcome:
        if self.socket.live():
            delivery = await self.socket.deliver(kind, payload, kind == "slash_commands")
            return Outcome(delivery.acked, "socket", delivery.payload,
                           None if delivery.acked else "operation_timeout")
        if self.request_url is None:
            return Outcome(False, "none", None, "dispatch_failed")  # the app is not connected
        return await self._post(body, media)

    async def _post(self, body: bytes, media: str) -> Outcome:
        assert self.request_url is not None
        stamp = str(int(time.time()))
        headers = {"Content-Type": media, "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": sign(self.workspace.signing_secret, stamp, body)}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session, \
                    session.post(self.request_url, data=body, headers=headers) as answer:
                text = await answer.text()
                if answer.status != 200:
                    return Outcome(False, "http", None, f"http_error_{answer.status}")
        except (TimeoutError, aiohttp.ClientError):
            return Outcome(False, "http", None, "operation_timeout")
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            parsed = {"text": text}
        return Outcome(True, "http", parsed if isinstance(parsed, dict) else {"text": text})

    def respond(self, token: str, body: Obj, now: float) -> Obj:
        """A POST to a response_url: in the channel for everyone, or only for the person who asked."""
        if token not in self.responses:
            raise SlackError("expired_url")
        channel, user = self.responses[token]
        args = {**body, "channel": channel}
        if body.get("response_type") == "in_channel":
            return self.workspace.chat_postMessage(args, now)
        return self.workspace.chat_postEphemeral({**args, "user": user})


def _button(message: Message, action_id: str) -> tuple[str, Obj] | None:
    for block in message.blocks:
        for element in block.get("elements") or [] if block.get("type") == "actions" else []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None
