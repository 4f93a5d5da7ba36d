"""The step machine: runs an operation's steps in order, journaling each one.

A step is idempotent: it looks at the real system before acting, so running it again
after a crash (the journal says `running`, the world may say done) does no harm. Steps
already `done` in the journal are skipped on resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infra import owner
from infra.errors import Fatal, GatewayError, Retryable, Unavailable, redact
from infra.journal import Journal, JournalError, OperationStatus, StepRecord
from infra.operations.cancel import WATCHING, Cancelled, nap

log = logging.getLogger(__name__)

UNAVAILABLE_RETRIES = 5  # a system that stays unreachable this many times fails the step


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], Awaitable[str | None]]  # returns a short message for the journal


# Progress, for any front end (rich on the CLI, the console, Slack): awaited at every step transition.
# A listener that fails is logged and does not fail the operation.
Listener = Callable[[OperationStatus, StepRecord], Awaitable[None]]


__all__ = ["Cancelled", "Listener", "Machine", "Step"]


class Stopped(Exception):
    """The process stops: the operation stops between two steps, to be resumed."""


class Machine:
    def __init__(self, journal: Journal, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 listener: Listener | None = None, poll: float = 1.0,
                 stopping: asyncio.Event | None = None) -> None:
        self.journal = journal
        self.clock = clock
        self.sleep = sleep
        self.listener = listener
        self.poll = poll  # how often a cancel request is looked for while a step waits
        self.stopping = stopping  # the process is stopping: no new step starts

    async def _record(self, op_id: int, step: StepRecord) -> None:
        await self.journal.record_step(op_id, step)
        if self.listener:
            op = await self.journal.get(op_id)
            assert op is not None
            try:
                await self.listener(op, step)
            except Exception:
                log.exception("a progress listener of operation %s failed", op_id)

    async def run(self, op_id: int, steps: list[Step]) -> OperationStatus:
        """Run every step not yet done; the operation ends Succeeded, Failed or Cancelled."""
        op = await self.journal.get(op_id)
        assert op is not None, op_id
        await self.journal.set_phase(op_id, "Running", self.clock(), owner=owner.me())
        owner.RUNNING.add(op_id)
        beating = asyncio.create_task(self._heartbeat(op_id))
        stop = asyncio.Event()
        watching = asyncio.create_task(self._watch_cancel(op_id, stop))
        token = WATCHING.set(stop)
        try:
            for step in steps:
                record = op.step(step.name)
                if record.outcome == "done":
                    continue
                if self.stopping is not None and self.stopping.is_set():
                    raise Stopped(step.name)
                await self._run_step(op_id, step, record)
        except Stopped as exc:
            # left Running, its owner's heartbeat dated zero: the next process (this one restarted,
            # or another replica) sees it interrupted at once and resumes it at `exc`'s step
            await self.journal.beat(op_id, 0.0)
            log.info("operation %s stopped before step %s: the process is stopping; it resumes there",
                     op_id, exc)
        except Cancelled:
            await self.journal.set_phase(op_id, "Cancelled", self.clock(), error="cancelled by request")
        except (Fatal, GatewayError) as exc:
            await self.journal.set_phase(op_id, "Failed", self.clock(), error=str(exc))
        else:
            await self.journal.set_phase(op_id, "Succeeded", self.clock())
        finally:
            WATCHING.reset(token)
            owner.RUNNING.discard(op_id)
            beating.cancel()
            watching.cancel()
        final = await self.journal.get(op_id)
        assert final is not None
        log.info("operation %s %s %s: %s", op_id, final.kind, final.target, final.phase)
        return final

    async def _heartbeat(self, op_id: int) -> None:
        """Say this process still runs the operation, so another replica does not take it over."""
        while True:
            await asyncio.sleep(owner.HEARTBEAT_SECONDS)
            try:
                await self.journal.beat(op_id, self.clock())
            except JournalError:
                log.warning("heartbeat of operation %s not journaled", op_id)

    async def _watch_cancel(self, op_id: int, stop: asyncio.Event) -> None:
        """Set `stop` once the journal says cancel (from `ops cancel`, here or in another process)."""
        while True:
            try:
                current = await self.journal.get(op_id)
            except JournalError:
                current = None
            if current is not None and current.cancel_requested:
                stop.set()
                return
            await asyncio.sleep(self.poll)  # real time: the journal is polled, not the lab

    async def _run_step(self, op_id: int, step: Step, record: StepRecord) -> None:
        unavailable = 0
        while True:
            current = await self.journal.get(op_id)
            if current and current.cancel_requested:
                record.outcome = "cancelled"
                await self._record(op_id, record)
                raise Cancelled
            record.attempts += 1
            record.outcome, record.started, record.finished = "running", record.started or self.clock(), None
            await self._record(op_id, record)
            try:
                message = await step.run()
            except (Retryable, Unavailable) as exc:
                unavailable += isinstance(exc, Unavailable)
                if unavailable >= UNAVAILABLE_RETRIES:
                    await self._fail(op_id, record, exc)
                    raise
                record.outcome, record.message = "retrying", redact(exc)
                await self._record(op_id, record)
                with contextlib.suppress(Cancelled):  # the top of the loop says it
                    await nap(self.sleep, exc.delay if isinstance(exc, Retryable) else 2.0 * unavailable)
                continue
            except Cancelled:  # the step was waiting when the cancel came
                record.outcome, record.finished = "cancelled", self.clock()
                await self._record(op_id, record)
                raise
            except (Fatal, GatewayError) as exc:
                await self._fail(op_id, record, exc)
                raise
            except Exception as exc:  # a bug in a step still leaves a journaled failure
                await self._fail(op_id, record, exc)
                raise Fatal(f"{step.name}: unexpected {type(exc).__name__}: {exc}") from exc
            record.outcome, record.finished, record.message = "done", self.clock(), redact(message or "")
            await self._record(op_id, record)
            return

    async def _fail(self, op_id: int, record: StepRecord, exc: BaseException) -> None:
        record.outcome, record.finished, record.message = "failed", self.clock(), redact(exc)
        await self._record(op_id, record)
