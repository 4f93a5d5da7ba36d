"""Every safety gate, met by a real alert in the remediation loop on the lab: the action is held
back, the reason is said (what Slack gets) and journaled as a Refused decision naming the gate.
Once a gate lifts, the action starts. The pause and the cooldown are read from the journal, so
they hold across a restart."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from alert_handlers.alert import Alert, fingerprint
from alert_handlers.incidents import Incidents
from alert_handlers.remediate import Outcome, Policy, Remediator
from infra.journal import Paused
from infra.journal_sqlite import SqliteJournal
from infra.operations.context import Context
from tests.conftest import RunningLab
from tests.scenarios.opsctx import fault, idle_lrm, lab_context


def alert(name: str, status: str = "firing", **labels: str) -> Alert:
    labels = {"alertname": name, **labels}
    return Alert(name=name, status=status, labels=labels, annotations={}, fingerprint=fingerprint(labels),
                 starts_at=dt.datetime(2026, 12, 6, 3, tzinfo=dt.UTC), source="alertmanager")


OSD_DOWN = alert("CephOSDDown")  # with blade2's OSD down: evacuate blade2


class Loop:
    """A Remediator on the lab (a real Context) with a frozen clock; Slack is a list of what is said."""

    def __init__(self, ctx: Context, **policy: Any) -> None:
        self.ctx, self.now = ctx, time.time()
        self.said: list[tuple[str, Alert | None]] = []

        async def post(text: str, thread: str | None, confirmation: str | None,
                       about: Alert | None) -> str:
            self.said.append((text, about))
            return thread or f"{len(self.said)}.0"
        self.remediator = Remediator(ctx, Policy(**{"mode": "auto", "hold_seconds": 0, **policy}),
                                     lambda: self.now, Incidents(ctx.journal, post, lambda: self.now))

    async def handle(self, a: Alert) -> Outcome:
        return await self.remediator.handle(a)

    async def held_by(self, a: Alert) -> tuple[str, str]:
        """(gate, reason), after checking the hold was said about `a` and journaled with the gate."""
        outcome = await self.handle(a)
        assert outcome.held is not None and outcome.op_id is not None, outcome
        op = await self.ctx.journal.get(outcome.op_id)
        assert op is not None and op.phase == "Refused" and not op.steps
        assert op.last_error == f"{outcome.held.gate}: {outcome.held.reason}"
        held = f"Held back: {outcome.decision.action} {outcome.decision.blade} "
        said = [about for text, about in self.said
                if text.startswith(held) and outcome.held.reason in text and f"[op {op.id}]" in text]
        assert said == [a], self.said
        return outcome.held.gate, outcome.held.reason

    async def acts(self, a: Alert) -> None:
        """No gate holds: the operation is journaled and started, and said."""
        outcome = await self.handle(a)
        assert outcome.held is None and outcome.op_id is not None, outcome
        op = await self.ctx.journal.get(outcome.op_id)
        assert op is not None and (op.kind, op.target) == (outcome.decision.action, outcome.decision.blade)
        assert op.phase != "Refused" and op.params["by"] == "drewburr"
        assert any(text.startswith(f"Starting {op.kind} {op.target}") for text, _ in self.said)

    async def stop(self) -> None:
        """Its background work (re-checks, a started operation) ends with the test, not the lab."""
        tasks = [*self.remediator.rechecks, *self.remediator.acting.tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def loops(running_lab: RunningLab) -> AsyncIterator[list[Loop]]:
    made: list[Loop] = []
    yield made
    for loop in made:
        await loop.stop()


@pytest.fixture
def make(running_lab: RunningLab, loops: list[Loop]) -> Any:
    def make(ctx: Context | None = None, **policy: Any) -> Loop:
        loops.append(Loop(ctx or lab_context(running_lab), **policy))
        return loops[-1]
    return make


async def until(ctx: Context, what: str, check: Any) -> None:
    """Wait until the live snapshot shows what a fault does (the lab applies some of it over time)."""
    for _ in range(300):
        if check(await ctx.snapshot()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def osd_down(running_lab: RunningLab, ctx: Context, blade: str) -> None:
    fault(running_lab, "osd-down", blade)
    await until(ctx, f"{blade}'s OSD down", lambda s: blade in s.sick_blades())


async def test_a_pause_in_the_journal_holds_and_resume_lets_it_through(running_lab: RunningLab,
                                                                        make: Any) -> None:
    loop = make()
    await osd_down(running_lab, loop.ctx, "blade2")
    await loop.ctx.journal.set_paused(Paused(by="U0ADMIN", reason="firmware upgrade", since=loop.now - 60))
    assert await loop.held_by(OSD_DOWN) == (
        "paused", "automation is paused by U0ADMIN since 60 s ago: firmware upgrade")
    await loop.ctx.journal.set_paused(None)
    await loop.acts(OSD_DOWN)


async def test_a_blocking_alert_holds_while_it_fires(running_lab: RunningLab, make: Any) -> None:
    loop = make(blocking_alerts=["CephDataMigration"])
    await osd_down(running_lab, loop.ctx, "blade2")
    await loop.handle(alert("CephDataMigration"))
    assert loop.said[-1][0].startswith("CephDataMigration (firing): CephDataMigration: no rule acts on it")
    assert await loop.held_by(OSD_DOWN) == ("blocking-alert", "blocking alert(s) firing: CephDataMigration")
    await loop.handle(alert("CephDataMigration", status="resolved"))
    await loop.acts(OSD_DOWN)


async def test_a_stale_alert_about_a_healthy_node_holds(make: Any) -> None:
    gate, reason = await make().held_by(alert("KubeNodeNotReady", node="kube04"))
    assert gate == "still-true"
    assert reason == "blade4 looks healthy in the live topology now: the report is stale"


async def test_a_condition_too_young_holds_until_the_hold_time(running_lab: RunningLab, make: Any) -> None:
    loop = make(hold_seconds=60)
    await osd_down(running_lab, loop.ctx, "blade2")
    assert await loop.held_by(OSD_DOWN) == (
        "held", "condition seen 0 s ago; acting after 60 s if it still holds")
    loop.now += 60  # its re-check comes then; the alert again is the same look
    await loop.acts(OSD_DOWN)


async def test_two_unhealthy_blades_are_a_storm(running_lab: RunningLab, make: Any) -> None:
    loop = make()
    fault(running_lab, "power-off", "blade3")
    fault(running_lab, "power-off", "blade4")
    await until(loop.ctx, "blade3 and blade4 offline",
                lambda s: not s.blades["blade3"].online and not s.blades["blade4"].online)
    gate, reason = await loop.held_by(alert("PveNodeOffline", blade="blade3"))
    assert gate == "storm"
    assert reason == "2 blades are unhealthy (blade3, blade4): no automatic action in a storm"


async def test_one_automatic_operation_at_a_time(running_lab: RunningLab, make: Any) -> None:
    loop = make()
    await osd_down(running_lab, loop.ctx, "blade2")
    running = await loop.ctx.journal.create("drain", "blade1", {}, ["migrate"], ["blade1"], loop.now - 5)
    gate, reason = await loop.held_by(OSD_DOWN)
    assert (gate, reason) == ("one-at-a-time", f"another automatic operation is running: drain blade1 "
                                               f"(op {running.id})")


async def test_a_blade_acted_on_recently_is_in_its_cooldown_after_many_holds_and_a_restart(
        running_lab: RunningLab, make: Any) -> None:
    before = make()
    await osd_down(running_lab, before.ctx, "blade2")
    journal = before.ctx.journal
    acted = await journal.create("evacuate", "blade2", {"by": "drewburr"}, [], [], before.now - 600)
    await journal.set_phase(acted.id, "Succeeded", before.now - 500)
    for _ in range(210):  # a long storm since, each re-check journaled: the action is not forgotten
        await journal.refuse("evacuate", "blade3", {"gate": "storm"}, "storm: 2 blades", before.now - 400)
    assert isinstance(journal, SqliteJournal)
    after = lab_context(running_lab)  # a new process reads the same journal
    after.journal = SqliteJournal(journal.path)
    loop = make(after)
    loop.now = before.now
    gate, reason = await loop.held_by(OSD_DOWN)
    assert (gate, reason) == ("cooldown", "drewburr acted on blade2 600 s ago; cooldown 1200 s left")


async def test_evacuating_without_pve_quorum_holds(running_lab: RunningLab, make: Any) -> None:
    loop = make()
    await osd_down(running_lab, loop.ctx, "blade2")
    fault(running_lab, "lose-quorum")
    await until(loop.ctx, "PVE without quorum", lambda s: not s.pve_quorate)
    gate, reason = await loop.held_by(OSD_DOWN)
    assert (gate, reason) == ("quorum", "PVE has no quorum: it cannot migrate or start VMs")


async def test_an_offline_blade_is_not_fenced_until_confirmed_off(running_lab: RunningLab, make: Any) -> None:
    loop = make()
    await idle_lrm(running_lab, loop.ctx, 104, "blade4")  # blade4 runs no HA service: PVE never fences it
    fault(running_lab, "power-off", "blade4")
    await until(loop.ctx, "blade4 offline", lambda s: not s.blades["blade4"].online)
    gate, reason = await loop.held_by(alert("KubeNodeNotReady", node="kube04"))
    assert gate == "confirmed-off"
    assert reason.startswith("blade4 is offline in PVE but not confirmed off") and "partitioned" in reason
    assert loop.said[-1][0].startswith("Confirm blade4 is powered off")  # only an admin's word lifts it
