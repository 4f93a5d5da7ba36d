from __future__ import annotations

import pytest

from infra.errors import Fatal, Retryable, Unavailable
from infra.journal_sqlite import SqliteJournal
from infra.operations.machine import UNAVAILABLE_RETRIES, Machine, Step


@pytest.fixture
def journal(tmp_path):
    return SqliteJournal(tmp_path / "journal.sqlite")


async def no_sleep(_: float) -> None:
    return None


def machine(journal) -> Machine:
    ticks = iter(range(1, 10_000))
    return Machine(journal, clock=lambda: float(next(ticks)), sleep=no_sleep)


def counting(calls: list[str], name: str, outcomes: list[Exception | str] | None = None) -> Step:
    queue = list(outcomes or ["ok"])

    async def run() -> str:
        calls.append(name)
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, Exception):
            raise outcome
        return f"{name} {outcome}"
    return Step(name, run)


async def test_steps_run_in_order_and_the_operation_succeeds(journal):
    calls: list[str] = []
    op = await journal.create("drain", "blade3", {}, ["a", "b"], ["blade3"], now=0)
    final = await machine(journal).run(op.id, [counting(calls, "a"), counting(calls, "b")])
    assert calls == ["a", "b"]
    assert final.phase == "Succeeded" and final.done == 2 and final.step("b").message == "b ok"
    assert await journal.locks() == {}


async def test_retryable_step_is_run_again_and_attempts_are_counted(journal):
    calls: list[str] = []
    op = await journal.create("drain", "blade3", {}, ["a"], [], now=0)
    step = counting(calls, "a", [Retryable("PDB says wait", delay=5), Retryable("again", delay=0.5), "ok"])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
    final = await Machine(journal, sleep=sleep).run(op.id, [step])
    assert final.phase == "Succeeded" and final.step("a").attempts == 3
    assert waits == [5, 0.5]  # each retry waits the delay its step asked for


async def test_fatal_step_fails_the_operation_and_stops(journal):
    calls: list[str] = []
    op = await journal.create("drain", "blade3", {}, ["a", "b"], ["blade3"], now=0)
    final = await machine(journal).run(op.id, [counting(calls, "a", [Fatal("VM 103 is locked (migrate)")]),
                                               counting(calls, "b")])
    assert calls == ["a"]
    assert final.phase == "Failed" and "locked" in final.last_error
    assert final.step("a").outcome == "failed" and final.step("b").outcome == "pending"
    assert await journal.locks() == {}


async def test_a_system_that_stays_unavailable_fails_the_step(journal):
    calls: list[str] = []
    op = await journal.create("drain", "blade3", {}, ["a"], [], now=0)
    final = await machine(journal).run(op.id, [counting(calls, "a", [Unavailable("pve", "595 no route")])])
    assert final.phase == "Failed" and len(calls) == UNAVAILABLE_RETRIES


async def test_resume_skips_done_steps_and_reruns_the_interrupted_one(journal):
    calls: list[str] = []
    op = await journal.create("drain", "blade3", {}, ["a", "b", "c"], [], now=0)
    steps = [counting(calls, "a"), counting(calls, "b", [RuntimeError("killed")]), counting(calls, "c")]
    first = await machine(journal).run(op.id, steps)
    assert first.phase == "Failed" and calls == ["a", "b"]
    calls.clear()
    final = await machine(journal).run(op.id, [counting(calls, name) for name in "abc"])
    assert calls == ["b", "c"] and final.phase == "Succeeded"


async def test_cancel_request_stops_before_the_next_step(journal):
    calls: list[str] = []
    op = await journal.create("drain", "blade3", {}, ["a", "b"], [], now=0)

    async def cancel_after() -> str:
        calls.append("a")
        await journal.request_cancel(op.id)
        return "done"
    final = await machine(journal).run(op.id, [Step("a", cancel_after), counting(calls, "b")])
    assert calls == ["a"] and final.phase == "Cancelled"
    assert final.step("b").outcome == "cancelled"


async def test_listener_sees_every_transition(journal):
    seen: list[tuple[str, str]] = []
    op = await journal.create("drain", "blade3", {}, ["a"], [], now=0)

    async def listener(o, s) -> None:
        seen.append((s.name, s.outcome))
    m = Machine(journal, sleep=no_sleep, listener=listener)
    await m.run(op.id, [counting([], "a", [Retryable("wait"), "ok"])])
    assert seen == [("a", "running"), ("a", "retrying"), ("a", "running"), ("a", "done")]


async def test_a_failing_listener_does_not_fail_the_operation(journal):
    op = await journal.create("drain", "blade3", {}, ["a"], [], now=0)

    async def broken(o, s) -> None:
        raise RuntimeError("Slack is down")
    final = await Machine(journal, sleep=no_sleep, listener=broken).run(op.id, [counting([], "a")])
    assert final.phase == "Succeeded" and final.step("a").outcome == "done"
