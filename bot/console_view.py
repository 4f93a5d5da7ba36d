"""What the console's person sees of the lab's Slack: the channel rendered as text from its
blocks, threads indented under their message, buttons numbered, what only they see marked.

`Twin` is the person's side of the lab's Slack twin (`/lab/slack/*`); `View` remembers what was
shown and renders only what is new or changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests

Obj = dict[str, Any]
FENCE = re.compile(r"```")
MENTION = re.compile(r"<@(\w+)>")


@dataclass(frozen=True)
class Button:
    ts: str
    action_id: str
    label: str


class Twin:
    def __init__(self, url: str, channel: str) -> None:
        self.url, self.channel = url.rstrip("/"), channel

    def _post(self, path: str, body: Obj) -> str | None:
        """None when Slack delivered it to the app; else what Slack said went wrong."""
        answer = requests.post(f"{self.url}/lab/slack/{path}", json={**body, "channel": self.channel},
                               timeout=10)
        data = answer.json()
        if answer.status_code != 200:
            return str(data.get("error"))
        return None if data.get("delivered") else str(data.get("error") or "not delivered")

    def command(self, user: str, text: str) -> str | None:
        return self._post("command", {"user": user, "text": text})

    def press(self, user: str, ts: str, action_id: str) -> str | None:
        return self._post("press", {"user": user, "message_ts": ts, "action_id": action_id})

    def seen(self, user: str) -> Obj:
        answer = requests.get(f"{self.url}/lab/slack/messages",
                              params={"channel": self.channel, "user": user}, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())


def _text(message: Obj) -> tuple[str, list[tuple[str, str]]]:
    """A message's text from its blocks (else its `text`), and its buttons as (action_id, label)."""
    parts: list[str] = []
    buttons: list[tuple[str, str]] = []
    for block in message.get("blocks") or []:
        kind = block.get("type")
        if kind in ("section", "header") and isinstance(block.get("text"), dict):
            parts.append(str(block["text"].get("text", "")))
        elif kind == "context":
            parts += [str(e.get("text", "")) for e in block.get("elements") or [] if isinstance(e, dict)]
        elif kind == "actions":
            buttons += [(str(e.get("action_id")), str((e.get("text") or {}).get("text", "")))
                        for e in block.get("elements") or [] if e.get("type") == "button"]
    text = "\n".join(parts) if parts else str(message.get("text", ""))
    text = FENCE.sub("", text)
    for f in message.get("files") or []:
        text += f"\n[file: {f.get('name')}, {f.get('size')} bytes]"
    return text.strip(), buttons


@dataclass
class View:
    user: str = "U0ADMIN"
    shown: dict[str, str] = field(default_factory=dict)  # ts -> the text last shown
    ephemeral: int = 0  # how many of this person's ephemeral messages were shown
    buttons: dict[int, Button] = field(default_factory=dict)
    changes: int = 0
    said_texts: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # user ID -> name, for <@ID> mentions

    def _named(self, text: str) -> str:
        return MENTION.sub(lambda m: "@" + self.names.get(m.group(1), m.group(1)), text)

    def said(self, text: str) -> bool:
        return any(text in t for t in self.said_texts)

    def update(self, seen: Obj) -> list[str]:
        """The lines to print for what is new or changed since the last update."""
        out: list[str] = []
        for message in sorted(seen.get("messages") or [], key=lambda m: m["ts"]):
            text, buttons = _text(message)
            text = self._named(text)
            ts = message["ts"]
            if self.shown.get(ts) == text:
                continue
            reply = message.get("thread_ts") not in (None, ts)
            lead = "  ↳ " if reply else ("~ " if ts in self.shown else "")
            line = lead + text.replace("\n", "\n" + " " * len(lead))
            for action_id, label in buttons:
                number = len(self.buttons) + 1
                self.buttons[number] = Button(ts, action_id, label)
                line += f"\n  [{number}] {label}"
            self.shown[ts] = text
            out.append(line)
        private = seen.get("ephemeral") or []
        for e in private[self.ephemeral:]:
            out.append("(only you) " + self._named(str(e.get("text", ""))))
        self.ephemeral = len(private)
        if out:
            self.changes += 1
            self.said_texts += out
        return out
