"""The leader's resumption: operations whose owner is gone (a killed process, a lost replica)
carry on, each told in one Slack thread whoever resumes it.

The thread is recorded in the operation (`params.slack_thread`), so the next leader, after a
failover in the middle of a drain, writes in the same thread rather than starting another.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands import ops
from infra import owner
from infra.errors import GatewayError
from infra.journal import JournalError, OperationStatus, StepRecord
from infra.operations import run as operations
from infra.operations.context import Context

log = logging.getLogger(__name__)
EVERY = owner.STALE_SECONDS  # how often the leader looks for interrupted operations


class Resumer:
    def __init__(self, context: Context, client: AsyncWebClient | None, channel: str | None) -> None:
        self.context, self.client, self.channel = context, client, channel

    async def run(self) -> None:
        """While leading: now, then every EVERY seconds (a replica may die at any time)."""
        while True:
            try:
                await self.once()
            except (GatewayError, JournalError) as exc:  # tried again next round
                log.warning("resuming interrupted operations: %s", exc)
            await asyncio.sleep(EVERY)

    async def once(self) -> None:
        for op in await operations.interrupted(self.context):
            await self._resume(op)

    async def _resume(self, op: OperationStatus) -> None:
        thread = await self._thread(op)
        await self._post(thread, f"Resuming `{op.kind} {op.target}` (operation {op.id}): the process "
                                 "running it is gone. Each step looks at the systems again.")

        async def listener(_: OperationStatus, step: StepRecord) -> None:
            if step.outcome in ("done", "failed"):
                await self._post(thread, f"{step.name}: {step.outcome} {step.message}")
        result = await ops.resume(self.context, op.id, yes=True, listener=listener)
        await self._post(thread, result.text)

    async def _thread(self, op: OperationStatus) -> dict[str, Any] | None:
        """The operation's Slack thread, started (and recorded) by the first to resume it."""
        known = op.params.get("slack_thread")
        if known or self.client is None or self.channel is None:
            return known
        try:
            answer = await self.client.chat_postMessage(
                channel=self.channel, text=f"`{op.kind} {op.target}` (operation {op.id}) was interrupted")
        except SlackApiError as exc:
            log.warning("slack refused a thread (%s)", exc.response.get("error"))
            return None
        thread = {"channel": answer["channel"], "ts": answer["ts"]}
        await self.context.journal.update_params(op.id, {"slack_thread": thread})
        return thread

    async def _post(self, thread: dict[str, Any] | None, text: str) -> None:
        if thread is None or self.client is None:
            log.info("slack (off): %s", text)
            return
        try:
            await self.client.chat_postMessage(channel=thread["channel"], thread_ts=thread["ts"],
                                               text=text[:3000])
        except SlackApiError as exc:
            log.warning("slack refused a message (%s): %s", exc.response.get("error"), text)
