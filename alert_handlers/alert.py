"""One `Alert` from either sender, with Alertmanager's own fingerprint when the sender gave none."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from alert_handlers.payloads import AlertmanagerPayload, GrafanaPayload, Status

_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1
_SEPARATOR = 0xFF  # prometheus/common's model.SeparatorByte


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: datetime
    source: Literal["alertmanager", "grafana", "watcher"]

    @property
    def key(self) -> tuple[str, str, datetime]:
        """What makes a delivery new: a repeat of the same firing (or resolution) is a duplicate."""
        return self.fingerprint, self.status, self.starts_at

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted name/value pairs."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
            h = ((h ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def from_alertmanager(payload: AlertmanagerPayload) -> list[Alert]:
    return [Alert(name=a.labels.get("alertname", ""), status=a.status or payload.status, labels=a.labels,
                  annotations=a.annotations, fingerprint=a.fingerprint or fingerprint(a.labels),
                  starts_at=a.startsAt, source="alertmanager") for a in payload.alerts]


def from_grafana(payload: GrafanaPayload) -> list[Alert]:
    return [Alert(name=a.labels.get("alertname", ""), status=a.status, labels=a.labels,
                  annotations=a.annotations, fingerprint=a.fingerprint, starts_at=a.startsAt,
                  source="grafana") for a in payload.alerts]
