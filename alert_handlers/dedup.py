"""Drop repeated deliveries: an Alertmanager cluster sends one notification from each peer, and a
firing alert is re-sent every repeat interval. A delivery is new when its (fingerprint, status,
startsAt) was not seen within `remember_seconds`."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from alert_handlers.alert import Alert

Key = tuple[str, str, datetime]


class Dedup:
    def __init__(self, remember_seconds: float = 86_400.0, limit: int = 100_000) -> None:
        self.remember, self.limit = remember_seconds, limit
        self._seen: OrderedDict[Key, float] = OrderedDict()

    def is_new(self, alert: Alert, now: float) -> bool:
        self._forget(now)
        if alert.key in self._seen:
            self._seen[alert.key] = now
            self._seen.move_to_end(alert.key)
            return False
        self._seen[alert.key] = now
        while len(self._seen) > self.limit:  # the oldest memory goes first
            self._seen.popitem(last=False)
        return True

    def _forget(self, now: float) -> None:
        while self._seen and next(iter(self._seen.values())) < now - self.remember:
            self._seen.popitem(last=False)
