"""One incident per fact, one Slack thread: the first thing said about a fact (`fence:blade3`)
opens the thread, everything after goes into it (more alerts, holds, the operation's steps, the
resolution). An alert and a watcher finding about the same blade decide the same fact, so they
meet here. The fact -> thread map is in the journal, so a restart keeps talking in the same thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from alert_handlers.alert import Alert
from infra.journal import Incident, Journal

log = logging.getLogger(__name__)
# (text, thread ts or None for a new thread, a confirmation ID for Confirm/Cancel buttons, the alert
# a notice is about, for its Silence button) -> the posted message's ts, or None when nothing was
# posted (Slack off, or it refused)
Post = Callable[[str, str | None, str | None, Alert | None], Awaitable[str | None]]


class Incidents:
    def __init__(self, journal: Journal, post: Post, clock: Callable[[], float],
                 channel: str | None = None) -> None:
        self.journal, self.post, self.clock, self.channel = journal, post, clock, channel
        self._lock = asyncio.Lock()  # two messages about a new fact must not open two threads

    async def get(self, fact: str) -> Incident | None:
        return next((i for i in await self.journal.incidents() if i.fact == fact), None)

    async def of_alert(self, fingerprint: str) -> Incident | None:
        """The newest incident this alert reported (a resolution goes to the thread of its firing)."""
        return next((i for i in reversed(await self.journal.incidents()) if fingerprint in i.fingerprints),
                    None)

    async def of_operation(self, op_id: int) -> Incident | None:
        return next((i for i in await self.journal.incidents() if i.op_id == op_id), None)

    async def update(self, incident: Incident) -> None:
        await self.journal.put_incident(incident)

    async def say(self, fact: str, text: str, fingerprint: str | None = None,
                  confirmation: str | None = None, alert: Alert | None = None) -> Incident:
        """Say `text` in the fact's thread (opening it); with `confirmation`, with Confirm/Cancel buttons;
        with `alert`, with a button that silences it."""
        async with self._lock:
            incident = await self.get(fact) or Incident(fact=fact, opened=self.clock(), channel=self.channel)
            if fingerprint and fingerprint not in incident.fingerprints:
                incident.fingerprints.append(fingerprint)
            ts = await self.post(text, incident.ts, confirmation, alert)
            if incident.ts is None and ts is not None:
                incident.ts = ts
            await self.journal.put_incident(incident)
            return incident
