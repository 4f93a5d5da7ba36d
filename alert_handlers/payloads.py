"""Webhook bodies as their senders write them: Alertmanager (version "4") and Grafana alerting.

Unknown fields are ignored (both senders add some over time); the fields drewburr reads are
typed, and a body that does not fit is refused naming the field (`PayloadError`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Status = Literal["firing", "resolved"]
MAX_ALERTS = 1000  # Alertmanager's default max_alerts is 0 (all); a bound keeps one body's work finite


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AlertmanagerAlert(_Payload):
    status: Status | None = None  # per alert since Alertmanager 0.7; older senders only set the group's
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str | None = None  # absent from old senders: computed from the labels, as Alertmanager does


class AlertmanagerPayload(_Payload):
    version: Literal["4"]
    groupKey: str
    status: Status
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = 0
    alerts: list[AlertmanagerAlert] = Field(max_length=MAX_ALERTS)


class GrafanaAlert(_Payload):
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str
    silenceURL: str = ""
    values: dict[str, float | int | None] | None = None


class GrafanaPayload(_Payload):
    version: str = "1"
    status: Status
    receiver: str = ""
    orgId: int = 1
    state: str = ""
    title: str = ""
    groupKey: str = ""
    externalURL: str = ""
    truncatedAlerts: int = 0
    alerts: list[GrafanaAlert] = Field(max_length=MAX_ALERTS)


class PayloadError(ValueError):
    """A body that is not JSON or does not fit the sender's schema; the message names the field."""


P = TypeVar("P", AlertmanagerPayload, GrafanaPayload)


def parse(model: type[P], body: bytes) -> P:
    """Validate straight from the bytes (pydantic's JSON parser: no dict built first)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            reason = first["msg"].removeprefix("Invalid JSON: ")
            raise PayloadError(f"the body is not JSON: {reason}") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise PayloadError("the body must be a JSON object") from None
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PayloadError(f"{where}: {first['msg']}{more}") from None
