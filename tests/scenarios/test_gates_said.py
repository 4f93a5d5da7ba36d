"""Every safety gate, met by a real alert in the remediation loop: the action is held back, the
reason is said (what Slack gets) and journaled as a Refused decision naming the gate. The pause
and the cooldown are read from the journal, so they hold across a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alert_handlers.alert import Alert, fingerprint
from alert_handlers.remediate import Outcome, Policy, Remediator
from infra.journal import Journal, Paused
from infra.journal_sqlite import SqliteJournal
from infra.topology import Snapshot
from tests.unit.infra.homelab import homelab

NOW = 1_800_000_000.0


def alert(name: str = "KubeNodeNotReady", status: str = "firing", **labels: str) -> Alert:
    labels = {"alertname": name, **labels}
    return Alert(name=name, status=status, labels=labels, annotations={}, fingerprint=fingerprint(labels),
                 starts_at=dt.datetime(2026, 12, 6, 3, tzinfo=dt.UTC), source="alertmanager")  # type: ignore[arg-type]


def sick(snap: Snapshot, *nodes: str) -> Snapshot:
    for node in nodes:
        snap.nodes[node].ready = False
    return snap


class Loop:
    """A Remediator on a fixed snapshot and clock, saying into a list."""

    def __init__(self, journal: Journal, snap: Snapshot, **policy: object) -> None:
        self.said: list[tuple[str, Alert | None]] = []
        self.journal = journal

        async def snapshot() -> Snapshot:
            return snap

        async def say(text: str, about: Alert | None = None) -> None:
            self.said.append((text, about))
        self.remediator = Remediator(snapshot, journal, Policy(**{"mode": "auto", "hold_seconds": 0,
                                                                  **policy}),  # type: ignore[arg-type]
                                     lambda: NOW, say)

    async def handle(self, a: Alert) -> Outcome:
        try:
            return await self.remediator.handle(a)
        finally:
            for task in self.remediator.rechecks:  # the `held` gate's later look; not this test's
                task.cancel()

    async def held_by(self, a: Alert) -> tuple[str, str]:
        """(gate, reason), after checking the reason was said about `a` and journaled with the gate."""
        outcome = await self.handle(a)
        assert outcome.held is not None and outcome.op_id is not None
        text, about = self.said[-1]
        assert text.startswith("Held back: ") and outcome.held.reason in text and about == a
        op = await self.journal.get(outcome.op_id)
        assert op is not None and op.phase == "Refused"
        assert op.last_error == f"{outcome.held.gate}: {outcome.held.reason}"
        return outcome.held.gate, outcome.held.reason


@pytest.fixture
def journal(tmp_path: Path) -> SqliteJournal:
    return SqliteJournal(tmp_path / "journal.sqlite")


NOT_READY = alert(node="kube05")  # kube05 runs on blade3


async def passes_every_gate(loop: Loop) -> None:
    """Past every safety gate, only `not-built` (automatic evacuation is not built yet) holds."""
    assert (await loop.held_by(NOT_READY))[0] == "not-built"


async def test_a_pause_in_the_journal_holds_and_resume_lets_it_through(journal: SqliteJournal) -> None:
    await journal.set_paused(Paused(by="U0ADMIN", reason="firmware upgrade", since=NOW - 60))
    loop = Loop(journal, sick(homelab(), "kube05"))
    assert await loop.held_by(NOT_READY) == (
        "paused", "automation is paused by U0ADMIN since 60 s ago: firmware upgrade")
    await journal.set_paused(None)
    await passes_every_gate(loop)


async def test_a_blocking_alert_holds_while_it_fires(journal: SqliteJournal) -> None:
    loop = Loop(journal, sick(homelab(), "kube05"), blocking_alerts=["CephDataMigration"])
    await loop.handle(alert("CephDataMigration"))
    assert loop.said[-1][0].startswith("CephDataMigration (firing): CephDataMigration: no rule acts on it")
    assert await loop.held_by(NOT_READY) == ("blocking-alert", "blocking alert(s) firing: CephDataMigration")
    await loop.handle(alert("CephDataMigration", status="resolved"))
    await passes_every_gate(loop)


async def test_a_stale_alert_about_a_healthy_node_holds(journal: SqliteJournal) -> None:
    gate, reason = await Loop(journal, homelab()).held_by(alert(node="kube04"))
    assert gate == "still-true"
    assert reason == "blade4 looks healthy in the live topology now: the report is stale"


async def test_a_condition_too_young_holds_until_the_hold_time(journal: SqliteJournal) -> None:
    loop = Loop(journal, sick(homelab(), "kube05"), hold_seconds=60)
    assert await loop.held_by(NOT_READY) == (
        "held", "condition seen 0 s ago; acting after 60 s if it still holds")


async def test_two_unhealthy_blades_are_a_storm(journal: SqliteJournal) -> None:
    gate, reason = await Loop(journal, sick(homelab(), "kube05", "kube02")).held_by(NOT_READY)
    assert gate == "storm"
    assert reason == "2 blades are unhealthy (blade2, blade3): no automatic action in a storm"


async def test_one_automatic_operation_at_a_time(journal: SqliteJournal) -> None:
    running = await journal.create("drain", "blade1", {}, ["migrate"], ["blade1"], NOW - 5)
    gate, reason = await Loop(journal, sick(homelab(), "kube05")).held_by(NOT_READY)
    assert (gate, reason) == ("one-at-a-time", f"another automatic operation is running: drain blade1 "
                                               f"(op {running.id})")


async def test_a_blade_acted_on_recently_is_in_its_cooldown_even_after_a_restart(
        journal: SqliteJournal, tmp_path: Path) -> None:
    acted = await journal.create("evacuate", "blade3", {}, [], [], NOW - 600)
    await journal.set_phase(acted.id, "Succeeded", NOW - 500)
    again = SqliteJournal(tmp_path / "journal.sqlite")  # a new process reads the same journal
    gate, reason = await Loop(again, sick(homelab(), "kube05")).held_by(NOT_READY)
    assert (gate, reason) == ("cooldown", "drewburr acted on blade3 600 s ago; cooldown 1200 s left")


async def test_evacuating_without_pve_quorum_holds(journal: SqliteJournal) -> None:
    snap = sick(homelab(), "kube05")
    snap.pve_quorate = False
    gate, reason = await Loop(journal, snap).held_by(NOT_READY)
    assert (gate, reason) == ("quorum", "PVE has no quorum: it cannot migrate or start VMs")


async def test_an_offline_blade_is_not_fenced_until_confirmed_off(journal: SqliteJournal) -> None:
    snap = sick(homelab(), "kube03", "kube05")
    snap.blades["blade3"].online = False
    gate, reason = await Loop(journal, snap).held_by(alert(node="kube03"))
    assert gate == "confirmed-off"
    assert reason.startswith("blade3 is offline in PVE but not confirmed off") and "partitioned" in reason
