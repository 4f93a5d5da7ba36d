"""Slack's answers to a failed call: HTTP 200 with `{"ok": false, "error": CODE}`, or 429."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A Web API error code, with Slack's `response_metadata.messages` where it gives some."""

    def __init__(self, code: str, messages: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error": self.code}
        if self.messages:
            out["response_metadata"] = {"messages": self.messages}
        return out


class RateLimited(SlackError):
    """HTTP 429 with `Retry-After` (seconds), as Slack answers a method called above its tier."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("ratelimited")
        self.retry_after = retry_after


def missing(args: dict[str, Any], *names: str) -> None:
    """Slack's answer to a call without a required argument."""
    absent = [n for n in names if args.get(n) in (None, "")]
    if absent:
        raise SlackError("invalid_arguments", [f"[ERROR] missing required field: {n}" for n in absent])
