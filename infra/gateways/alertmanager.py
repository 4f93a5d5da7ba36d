"""Alertmanager's API v2 (`alertmanager.url`): silences and the alerts it holds, over plain HTTP.

There is no maintained Python client for API v2, and the calls are few, so this speaks HTTP with
`requests` in a worker thread (through `Caller`, like every gateway). Alertmanager answers a
refused request with a JSON string or plain text; either becomes the error's detail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field

from infra.errors import GatewayError, NotFound, Unavailable, cause
from infra.gateways._calls import Caller

SYSTEM = "alertmanager"


class Matcher(BaseModel):
    name: str
    value: str
    isRegex: bool = False
    isEqual: bool = True


class Silence(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    state: Literal["active", "pending", "expired"]
    matchers: list[Matcher]
    startsAt: datetime
    endsAt: datetime
    createdBy: str
    comment: str


class AmAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")
    fingerprint: str
    labels: dict[str, str]
    state: str = Field("", description="active | suppressed | unprocessed (from status.state)")


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail
        super().__init__(detail)


def translate(exc: Exception) -> GatewayError:
    if isinstance(exc, _Refused):
        kind = NotFound if exc.status == 404 else Unavailable if exc.status >= 500 else GatewayError
        return kind(SYSTEM, exc.detail, exc.status)
    if isinstance(exc, requests.RequestException):
        return Unavailable(SYSTEM, f"no answer ({cause(exc)})", hint="alertmanager.url and that it is up")
    return GatewayError(SYSTEM, f"{type(exc).__name__}: {exc}")


class AlertmanagerGateway:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.base = url.rstrip("/") + "/api/v2"
        self.timeout = timeout
        self.session = requests.Session()
        self.caller = Caller(SYSTEM, translate, url=url)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.session.request(method, self.base + path, json=body, timeout=self.timeout)
        if answer.status_code >= 400:
            try:
                detail = answer.json()
            except ValueError:
                detail = answer.text
            raise _Refused(answer.status_code, str(detail).strip() or answer.reason)
        return answer.json() if answer.content else None

    async def create_silence(self, matchers: list[Matcher], starts: datetime, ends: datetime,
                             created_by: str, comment: str) -> str:
        """The new silence's ID."""
        body = {"matchers": [m.model_dump() for m in matchers], "startsAt": starts.isoformat(),
                "endsAt": ends.isoformat(), "createdBy": created_by, "comment": comment}
        answer = await self.caller.write("create silence", lambda: self._call("POST", "/silences", body))
        return str(answer["silenceID"])

    async def silences(self) -> list[Silence]:
        raw = await self.caller.read("list silences", lambda: self._call("GET", "/silences"))
        return [Silence(**s, state=s["status"]["state"]) for s in raw]

    async def expire_silence(self, silence_id: str) -> None:
        await self.caller.write("expire silence", lambda: self._call("DELETE", f"/silence/{silence_id}"))

    async def alerts(self) -> list[AmAlert]:
        raw = await self.caller.read("list alerts", lambda: self._call("GET", "/alerts"))
        return [AmAlert(**a, state=a.get("status", {}).get("state", "")) for a in raw]
