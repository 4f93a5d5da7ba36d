"""A Slack workspace: users, user groups, channels, messages, threads, and the bot's tokens.

Methods are named after the Web API's (`chat_postMessage` for `chat.postMessage`); each takes
the caller's token kind and the call's arguments, checks them as Slack does and raises
`SlackError` with Slack's error code. Message text and blocks are checked against Block
Kit's limits (`lab.slack.blocks`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from lab.slack import blocks as block_kit
from lab.slack.errors import SlackError, missing
from lab.slack.files import Files

Obj = dict[str, Any]
MAX_TEXT = 40_000  # chat.postMessage truncates longer text; the lab refuses it as msg_too_long


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    is_admin: bool = False

    def info(self, team_id: str) -> Obj:
        return {"id": self.id, "team_id": team_id, "name": self.name, "real_name": self.real_name,
                "deleted": False, "is_bot": self.is_bot, "is_admin": self.is_admin, "tz": "Etc/UTC",
                "profile": {"real_name": self.real_name, "display_name": self.name}}


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    users: list[str]


@dataclass
class Message:
    ts: str
    channel: str
    user: str
    text: str
    blocks: list[Obj]
    bot_id: str | None = None
    thread_ts: str | None = None
    edited: Obj | None = None
    replies: list[str] = field(default_factory=list)
    files: list[Obj] = field(default_factory=list)

    def as_dict(self) -> Obj:
        out: Obj = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text,
                    "blocks": self.blocks, "team": "T0LAB"}
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.replies:
            out.update(reply_count=len(self.replies), latest_reply=self.replies[-1])
        if self.edited:
            out["edited"] = self.edited
        if self.files:
            out["files"] = self.files
        return out


@dataclass
class Channel:
    id: str
    name: str
    members: set[str]
    messages: dict[str, Message] = field(default_factory=dict)

    def info(self) -> Obj:
        return {"id": self.id, "name": self.name, "is_channel": True, "is_private": False,
                "is_archived": False, "is_member": True, "num_members": len(self.members)}


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[Obj]
    thread_ts: str | None


class Workspace:
    """One team with the drewburr app installed: a bot user, its bot token and app-level token."""

    def __init__(self, now: float) -> None:
        self.team_id, self.team_domain, self.app_id = "T0LAB", "drewburr-lab", "A0LAB"
        self.bot = User("U0BOT", "drewburr", "drewburr", is_bot=True)
        self.bot_id = "B0BOT"
        self.bot_token = "xoxb-lab-" + secrets.token_hex(12)
        self.app_token = "xapp-1-lab-" + secrets.token_hex(12)
        self.signing_secret = secrets.token_hex(16)
        self.users = {u.id: u for u in (
            self.bot, User("U0ADMIN", "alice", "Alice Admin", is_admin=True),
            User("U0OPER", "oscar", "Oscar Operator"), User("U0READ", "rita", "Rita Reader"))}
        self.usergroups = {"S0ONCALL": Usergroup("S0ONCALL", "oncall", "On-call", ["U0OPER"])}
        self.channels = {"C0OPS": Channel("C0OPS", "homelab-ops", set(self.users))}
        self.ephemeral: list[Ephemeral] = []
        self.files = Files()
        self._last_ts = now

    def _ts(self, now: float) -> str:
        """Message timestamps are unique and increasing, as Slack's are within a channel."""
        self._last_ts = max(now, self._last_ts + 1e-6)
        return f"{self._last_ts:.6f}"

    def channel(self, args: Obj) -> Channel:
        found = self.channels.get(str(args.get("channel") or ""))
        if found is None:
            raise SlackError("channel_not_found")
        return found

    def _message(self, args: Obj, ts_arg: str = "ts") -> tuple[Channel, Message]:
        channel = self.channel(args)
        message = channel.messages.get(str(args.get(ts_arg) or ""))
        if message is None:
            raise SlackError("message_not_found" if ts_arg == "ts" else "thread_not_found")
        return channel, message

    # auth

    def auth_test(self, token_kind: str) -> Obj:
        out = {"url": f"https://{self.team_domain}.slack.com/", "team": "drewburr lab",
               "team_id": self.team_id, "is_enterprise_install": False}
        if token_kind == "bot":
            out.update(user=self.bot.name, user_id=self.bot.id, bot_id=self.bot_id)
        else:
            out["app_id"] = self.app_id
        return out

    # chat

    def chat_postMessage(self, args: Obj, now: float, user: str | None = None) -> Obj:
        missing(args, "channel")
        channel = self.channel(args)
        text, checked = _content(args)
        message = self._post(channel, args, now, text, checked, user)
        return {"channel": channel.id, "ts": message.ts, "message": message.as_dict()}

    def _post(self, channel: Channel, args: Obj, now: float, text: str, blocks: list[Obj],
              user: str | None = None, files: list[Obj] | None = None) -> Message:
        """A new message in the channel, or in a thread when `thread_ts` names one of its messages."""
        thread = str(args.get("thread_ts") or "") or None
        if thread is not None and thread not in channel.messages:
            raise SlackError("thread_not_found")
        message = Message(self._ts(now), channel.id, user or self.bot.id, text, blocks,
                          bot_id=None if user else self.bot_id, thread_ts=thread, files=files or [])
        channel.messages[message.ts] = message
        if thread is not None:
            parent = channel.messages[thread]
            parent.thread_ts = parent.thread_ts or parent.ts
            parent.replies.append(message.ts)
        return message

    def chat_update(self, args: Obj, now: float) -> Obj:
        missing(args, "channel", "ts")
        channel, message = self._message(args)
        if message.user != self.bot.id:
            raise SlackError("cant_update_message")
        text, checked = _content(args)
        message.text, message.blocks = text, checked
        message.edited = {"user": self.bot.id, "ts": self._ts(now)}
        return {"channel": channel.id, "ts": message.ts, "text": text, "message": message.as_dict()}

    def chat_postEphemeral(self, args: Obj) -> Obj:
        missing(args, "channel", "user")
        channel = self.channel(args)
        user = str(args.get("user"))
        if user not in self.users:
            raise SlackError("user_not_found")
        if user not in channel.members:
            raise SlackError("user_not_in_channel")
        text, checked = _content(args)
        self.ephemeral.append(Ephemeral(channel.id, user, text, checked, args.get("thread_ts") or None))
        return {"message_ts": f"{self._last_ts:.6f}"}

    def chat_delete(self, args: Obj) -> Obj:
        missing(args, "channel", "ts")
        channel, message = self._message(args)
        if message.user != self.bot.id:
            raise SlackError("cant_delete_message")
        del channel.messages[message.ts]
        return {"channel": channel.id, "ts": message.ts}

    # files (the upload itself is `Files.upload`, at the URL handed out)

    def files_getUploadURLExternal(self, args: Obj, host: str) -> Obj:
        return self.files.get_upload_url(args, host)

    def files_completeUploadExternal(self, args: Obj, now: float) -> Obj:
        done = self.files.complete(args)
        shared = [f.info() for f in done]
        if args.get("channel_id"):  # else the files stay private to the bot, as in Slack
            channel = self.channel({"channel": args["channel_id"]})
            self._post(channel, args, now, str(args.get("initial_comment") or ""), [], files=shared)
        return {"files": shared}

    # conversations

    def conversations_info(self, args: Obj) -> Obj:
        missing(args, "channel")
        return {"channel": self.channel(args).info()}

    def conversations_history(self, args: Obj) -> Obj:
        missing(args, "channel")
        channel = self.channel(args)
        top = [m.as_dict() for m in channel.messages.values() if m.thread_ts in (None, m.ts)]
        return {"messages": sorted(top, key=lambda m: m["ts"], reverse=True), "has_more": False}

    def conversations_replies(self, args: Obj) -> Obj:
        missing(args, "channel", "ts")
        channel, parent = self._message(args, "ts")
        thread = [parent, *(channel.messages[ts] for ts in parent.replies if ts in channel.messages)]
        return {"messages": [m.as_dict() for m in thread], "has_more": False}

    # users and user groups

    def users_info(self, args: Obj) -> Obj:
        missing(args, "user")
        user = self.users.get(str(args.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.info(self.team_id)}

    def usergroups_list(self) -> Obj:
        return {"usergroups": [{"id": g.id, "handle": g.handle, "name": g.name, "team_id": self.team_id,
                                "user_count": len(g.users)} for g in self.usergroups.values()]}

    def usergroups_users_list(self, args: Obj) -> Obj:
        missing(args, "usergroup")
        group = self.usergroups.get(str(args.get("usergroup")))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group.users)}


def _content(args: Obj) -> tuple[str, list[Obj]]:
    """A message's text and blocks, checked: one of them, text within Slack's length, valid blocks."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        raise SlackError("invalid_arguments", ["[ERROR] text must be a string"])
    checked = block_kit.check(args.get("blocks"))
    if not text and not checked:
        raise SlackError("no_text")
    if text and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return text or "", checked
