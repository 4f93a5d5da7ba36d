"""One operation in Slack: its message edited as steps move, each finished step in its thread.

`chat.update` is a Tier 3 method (about 50 a minute), so edits are coalesced: at most one per
`EDIT_EVERY` seconds per message, and the last state is always written. Thread replies go out
in order, one at a time; a 429 is retried after `Retry-After` by the client's retry handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_blocks import fits, text_blocks
from commands.result import Result
from infra.journal import OperationStatus, StepRecord

log = logging.getLogger(__name__)
EDIT_EVERY = 1.2  # seconds between two edits of one message: inside Tier 3's 50 a minute
MARKS = {"done": "✅", "failed": "❌", "running": "⏳", "retrying": "🔁", "cancelled": "⛔", "pending": "▫️"}
THREADED = ("done", "failed", "cancelled")


def step_line(step: StepRecord) -> str:
    line = f"{MARKS.get(step.outcome, '')} {step.name}: {step.outcome}"
    if step.attempts > 1 and step.outcome in ("running", "retrying"):
        line += f" (attempt {step.attempts})"
    if step.started and step.finished and step.outcome in THREADED:
        line += f" in {step.finished - step.started:.0f} s"
    return line + (f" - {step.message}" if step.message else "")


def progress_text(op: OperationStatus) -> str:
    return "\n".join(step_line(s) for s in op.steps)


def ending(text: str, user: str, seconds: float, result: Result) -> tuple[str, str]:
    """The end of a confirmed command, (outcome and duration, the message's title): a failure says
    why and what was left as is."""
    op = result.operation
    outcome = "done" if result.code == 0 else "refused" if op is None or op.phase == "Refused" else (
        "cancelled" if op.phase == "Cancelled" else
        "stopped by a restart of drewburr after its current step; it resumes when drewburr is back"
        if op.phase == "Running" else "failed")
    summary = f"{outcome} in {seconds:.0f} s"
    title = f"`{text}` {summary} (confirmed by <@{user}>)"
    if op is not None and op.phase in ("Failed", "Cancelled"):
        done = [s.name for s in op.steps if s.outcome == "done"]
        title += (f"\n*Why:* {op.last_error or 'no reason journaled'}"
                  f"\n*Left as is:* done: {', '.join(done) or 'nothing'}; not done: {', '.join(op.pending)}"
                  f" (`/drewburr ops show {op.id}`)")
    return summary, title


async def blocks_or_file(client: AsyncWebClient, channel: str, ts: str, title: str,
                         text: str) -> list[dict[str, Any]]:
    """The blocks of `text` under `title`; output too long for a message also goes to the thread of
    message `ts` as a file (the message keeps what fits, and says where the rest is)."""
    if fits(text):
        return text_blocks(title, text)
    try:
        await client.files_upload_v2(channel=channel, thread_ts=ts, content=text,
                                     filename="drewburr-output.txt", title=title.splitlines()[0][:200],
                                     initial_comment="The whole output:")
    except SlackApiError as exc:
        log.warning("slack refused the output file (%s)", exc.response.get("error"))
        return text_blocks(title, text)
    return text_blocks(title, text, rest="the whole output is in the thread, as a file")


class LiveMessage:
    """A listener of one operation's progress that writes it to one Slack message and its thread."""

    def __init__(self, client: AsyncWebClient, channel: str, ts: str, title: str,
                 every: float = EDIT_EVERY) -> None:
        self.client, self.channel, self.ts, self.title, self.every = client, channel, ts, title, every
        self.started = time.monotonic()
        self._latest: tuple[str, str | None] | None = None  # the state not yet written
        self._closing = False
        self._lock = asyncio.Lock()  # one chat.update at a time, the final one last
        self._writer: asyncio.Task[None] | None = None
        self._replies: asyncio.Queue[str | None] = asyncio.Queue()
        self._poster = asyncio.create_task(self._post_replies())

    async def __call__(self, op: OperationStatus, step: StepRecord) -> None:
        self.show(f"{self.title}: step {min(op.done + 1, op.total)}/{op.total} {step.name}",
                  progress_text(op))
        if step.outcome in THREADED:
            self._replies.put_nowait(step_line(step))

    def show(self, title: str, body: str | None = None) -> None:
        """Say this next; written now, or when the last edit is `every` seconds old."""
        self._latest = (title, body)
        if not self._closing and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._latest is not None and not self._closing:
            async with self._lock:
                title, body = self._latest
                self._latest = None
                await self._edit(title, body)
            await asyncio.sleep(self.every)

    async def _edit(self, title: str, body: str | None, blocks: list[dict[str, Any]] | None = None) -> None:
        try:
            await self.client.chat_update(channel=self.channel, ts=self.ts, text=title[:3000],
                                          blocks=blocks or text_blocks(title, body))
        except SlackApiError as exc:  # progress is a courtesy: the journal has it all
            log.warning("slack refused an edit of %s (%s)", self.ts, exc.response.get("error"))

    async def _post_replies(self) -> None:
        while (text := await self._replies.get()) is not None:
            try:
                await self.client.chat_postMessage(channel=self.channel, thread_ts=self.ts, text=text[:3000])
            except SlackApiError as exc:
                log.warning("slack refused a thread reply (%s): %s", exc.response.get("error"), text)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    async def close(self, blocks: list[dict[str, Any]], text: str) -> None:
        """The end: every thread reply out, no coalesced edit pending, then this last state."""
        self._replies.put_nowait(None)
        await self._poster
        self._closing = True
        async with self._lock:  # an edit under way finishes first
            if self._writer is not None:
                self._writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer
            await self._edit(text, None, blocks)
