"""The Slack twin's HTTP application: the Web API at /api/METHOD, Socket Mode links at /link/, and
the people's side at /lab/slack/ (commands, button presses, response URLs, faults)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from lab.slack import routes, routes_people
from lab.slack.limits import Limits
from lab.slack.models import Workspace
from lab.slack.people import People
from lab.slack.socket_mode import SocketMode


class SlackTwin:
    """One workspace and the app installed in it, on the lab's clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.workspace = Workspace(clock())
        self.socket = SocketMode(self.workspace.app_id)
        self.people = People(self.workspace, self.socket)
        self.limits = Limits()
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (method, arguments) in order

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)


def make_app(twin: SlackTwin, middlewares: list[Any] | None = None) -> web.Application:
    app = web.Application(middlewares=middlewares or [], client_max_size=1024 * 1024)
    app[routes.SLACK_KEY] = twin
    routes.add_routes(app)
    routes_people.add_routes(app)
    return app
