"""The one clock, sleep and poll_until of an operation's Context, and cancel within a poll."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from infra.errors import TimedOut
from infra.journal_sqlite import SqliteJournal
from infra.operations.context import Context, OpsOptions
from infra.operations.machine import Machine, Step


class FakeTime:
    """A clock that only moves when someone sleeps: waits take no real time."""

    def __init__(self) -> None:
        self.now, self.slept = 1000.0, []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def context(journal: Any, time: FakeTime | None = None, **options: Any) -> Context:
    ctx = Context(pve=None, k8s=None, journal=journal, options=OpsOptions(**options))  # type: ignore[arg-type]
    if time is not None:
        ctx.clock, ctx.sleeper = (lambda: time.now), time.sleep
    return ctx


@pytest.fixture
def journal(tmp_path):
    return SqliteJournal(tmp_path / "journal.sqlite")


async def test_poll_until_returns_what_the_condition_found_polling_at_the_poll_interval(journal):
    time, answers = FakeTime(), iter([None, None, "there"])
    found = await context(journal, time, poll_seconds=2.0).poll_until(
        lambda: asyncio.sleep(0, next(answers)), within=60, what="it")
    assert found == "there" and time.slept == [2.0, 2.0]


async def test_poll_until_times_out_naming_what_it_waited_for_and_what_it_saw_last(journal):
    time, seen = FakeTime(), ["nothing yet"]

    async def never() -> None:
        seen[0] = f"still at {time.now:.0f}"
    with pytest.raises(TimedOut) as caught:
        await context(journal, time, poll_seconds=5.0).poll_until(
            never, within=30, what=lambda: f"blade3 to boot ({seen[0]})", interval=lambda: 10.0)
    assert str(caught.value) == "timed out after 30s waiting for blade3 to boot (still at 1030)"
    assert time.slept == [10.0, 10.0, 10.0]


async def test_a_cancel_ends_a_long_wait_at_the_next_poll_not_when_the_wait_would_end(journal):
    ctx = context(journal, poll_seconds=0.05)
    op = await journal.create("drain", "blade3", {}, ["wait"], ["blade3"], now=0)
    waiting = asyncio.Event()

    async def long_wait() -> str:
        waiting.set()
        await ctx.poll_until(lambda: asyncio.sleep(0, None), within=900, what="a VM that never moves",
                             interval=900)
        return "unreachable"
    running = asyncio.create_task(Machine(journal, poll=0.05).run(op.id, [Step("wait", long_wait)]))
    await waiting.wait()
    await journal.request_cancel(op.id)
    final = await asyncio.wait_for(running, timeout=60)  # far below the step's 900 s
    assert final.phase == "Cancelled" and final.step("wait").outcome == "cancelled"
    assert await journal.locks() == {}
