"""What every PVE route needs: the model, the request's lab time, user and checked parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lab.pve.app import LAB_KEY, NOW_KEY
from lab.pve.auth import USER_KEY
from lab.pve.schema import PARAMS_KEY

if TYPE_CHECKING:
    from lab.ceph.models import CephCluster
    from lab.pve.models import PveCluster

URI_PARAMS = ("node", "vmid")


@dataclass(frozen=True)
class Call:
    pve: PveCluster
    ceph: CephCluster
    now: float
    user: str
    params: dict[str, Any]
    node: str

    def flag(self, key: str) -> bool | None:
        """A PVE boolean: 1/0 (also true/false, on/off, yes/no, as PVE's parser takes them)."""
        value = self.params.get(key)
        if value is None or value == "":
            return None
        return str(value).lower() in ("1", "true", "on", "yes")

    def integer(self, key: str) -> int | None:
        value = self.params.get(key)
        return None if value is None or value == "" else int(value)

    def text(self, key: str) -> str | None:
        value = self.params.get(key)
        return None if value is None else str(value)

    @property
    def vmid(self) -> int:
        return int(self.params["vmid"])

    def body(self) -> dict[str, str]:
        """The parameters other than the URI's, as strings."""
        return {k: str(v) for k, v in self.params.items() if k not in URI_PARAMS}


def call(request: web.Request) -> Call:
    lab: Any = request.app[LAB_KEY]
    params = request.get(PARAMS_KEY) or {**request.query, **request.match_info}
    return Call(lab.pve, lab.ceph, request[NOW_KEY], request.get(USER_KEY, "root@pam"), params,
                request.match_info.get("node", ""))


def answers(fn: Callable[[Call], object]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A route from `fn(call) -> data`: what `fn` returns is served as PVE's `{"data": ...}`."""

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"data": fn(call(request))})

    handler.__name__ = fn.__name__
    return handler
