"""Web API rate limits: each method's tier per minute (lab time), and 429s a test asks for."""

from __future__ import annotations

from collections import defaultdict, deque

from lab.slack.errors import RateLimited

# calls per minute; chat.postMessage is "special" (about one a second per channel), auth.test is high
TIERS = {"chat.postMessage": 60, "chat.update": 50, "chat.postEphemeral": 100, "chat.delete": 50,
         "conversations.history": 50, "conversations.replies": 50, "conversations.info": 100,
         "usergroups.list": 20, "usergroups.users.list": 20, "users.info": 100, "auth.test": 600,
         "apps.connections.open": 50, "files.getUploadURLExternal": 20, "files.completeUploadExternal": 20}
WINDOW = 60.0


class Limits:
    def __init__(self) -> None:
        self.calls: dict[str, deque[float]] = defaultdict(deque)
        self.forced: dict[str, tuple[int, int]] = {}  # method -> (calls left to refuse, Retry-After)

    def force(self, method: str, count: int, retry_after: int) -> None:
        self.forced[method] = (count, retry_after)

    def check(self, method: str, now: float) -> None:
        left, retry_after = self.forced.get(method, (0, 0))
        if left > 0:
            self.forced[method] = (left - 1, retry_after)
            raise RateLimited(retry_after)
        calls = self.calls[method]
        while calls and calls[0] <= now - WINDOW:
            calls.popleft()
        if len(calls) >= TIERS.get(method, 20):
            raise RateLimited(max(1, int(calls[0] + WINDOW - now) + 1))
        calls.append(now)
