"""Ingest: a webhook body -> new alerts on the queue (parsed, normalized, deduplicated).

The HTTP side (auth, size, status codes) lives in `bot/webhooks.py`; this is what both
senders share once a body is accepted. Nothing here waits on a person or the cluster: the
queue's consumer applies the rules and the gates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from alert_handlers.alert import Alert, from_alertmanager, from_grafana
from alert_handlers.dedup import Dedup
from alert_handlers.payloads import AlertmanagerPayload, GrafanaPayload, parse


@dataclass(frozen=True)
class Ingested:
    accepted: int
    duplicates: int


class Ingest:
    def __init__(self, queue: asyncio.Queue[Alert], clock: Callable[[], float], dedup: Dedup | None = None,
                 observe: Callable[[str, Ingested], None] | None = None) -> None:
        self.queue, self.clock, self.dedup = queue, clock, dedup or Dedup()
        self.observe = observe  # (source, what was queued): the bot counts it

    def _enqueue(self, source: str, alerts: list[Alert]) -> Ingested:
        now = self.clock()
        fresh = [a for a in alerts if self.dedup.is_new(a, now)]
        for alert in fresh:
            self.queue.put_nowait(alert)
        result = Ingested(len(fresh), len(alerts) - len(fresh))
        if self.observe:
            self.observe(source, result)
        return result

    def alertmanager(self, body: bytes) -> Ingested:
        """Raises PayloadError naming the field when the body is not Alertmanager's."""
        return self._enqueue("alertmanager", from_alertmanager(parse(AlertmanagerPayload, body)))

    def grafana(self, body: bytes) -> Ingested:
        return self._enqueue("grafana", from_grafana(parse(GrafanaPayload, body)))

    def findings(self, alerts: list[Alert]) -> Ingested:
        """The watcher's findings: the same dedup and queue as the webhooks' alerts."""
        return self._enqueue("watcher", alerts)
