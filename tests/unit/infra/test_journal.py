from __future__ import annotations

import asyncio
import sqlite3

import pytest

from infra.gateways.k8s import K8sGateway
from infra.journal import (
    Confirmation,
    Incident,
    Journal,
    JournalError,
    Locked,
    Maintenance,
    Paused,
    StepRecord,
)
from infra.journal_k8s import KubernetesJournal
from infra.journal_sqlite import SqliteJournal
from tests.unit.infra.conftest import Opener


@pytest.fixture
def journal(opener: Opener) -> Journal:
    return opener()


async def test_operation_starts_pending_with_its_steps(journal):
    steps = ["plan", "noout", "cordon"]
    op = await journal.create("drain", "blade3", {"dry": False}, steps, ["blade3"], now=10)
    assert (op.phase, op.total, op.done, op.pending) == ("Pending", 3, 0, steps)
    assert await journal.get(op.id) == op


async def test_a_locked_blade_refuses_a_second_operation_naming_the_holder(journal):
    first = await journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=1)
    with pytest.raises(Locked, match=f"operation {first.id} \\(drain\\)"):
        await journal.create("reboot", "blade3", {}, ["a"], ["blade3"], now=2)
    assert [op.id for op in await journal.list()] == [first.id]  # the refused one left nothing behind


async def test_two_operations_racing_for_one_blade_get_one_lock(journal):
    results = await asyncio.gather(*(journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=1)
                                     for _ in range(4)), return_exceptions=True)
    (winner,) = [r for r in results if not isinstance(r, Exception)]
    assert all(isinstance(r, Locked) for r in results if r is not winner)
    assert await journal.locks() == {"blade3": winner.id}
    assert [op.id for op in await journal.list()] == [winner.id]


async def test_finishing_an_operation_releases_its_locks(journal):
    op = await journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=1)
    await journal.set_phase(op.id, "Failed", now=2, error="boom")
    assert await journal.locks() == {}
    again = await journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=3)
    assert await journal.locks() == {"blade3": again.id}
    assert (await journal.get(op.id)).last_error == "boom"


async def test_step_records_have_one_shape_and_survive_reopening(journal, opener):
    op = await journal.create("drain", "blade3", {}, ["cordon"], ["blade3"], now=1)
    await journal.record_step(op.id, StepRecord(name="cordon", outcome="done", started=1, finished=2,
                                                attempts=2, message="kube03, kube05 cordoned"))
    reopened = opener()
    step = (await reopened.get(op.id)).step("cordon")
    assert (step.outcome, step.attempts, step.message) == ("done", 2, "kube03, kube05 cordoned")


async def test_params_merge(journal):
    op = await journal.create("drain", "blade3", {"a": 1}, ["x"], [], now=1)
    await journal.update_params(op.id, {"placement": {"103": "blade3"}})
    assert (await journal.get(op.id)).params == {"a": 1, "placement": {"103": "blade3"}}


async def test_maintenance_records_round_trip(journal):
    await journal.put_maintenance(Maintenance(blade="blade3", op_id=1, since=5, placement={103: "blade3"},
                                              cordoned=["kube03"], noout_set=True))
    assert (await journal.get_maintenance("blade3")).placement == {103: "blade3"}
    assert [m.blade for m in await journal.maintenance()] == ["blade3"]
    await journal.clear_maintenance("blade3")
    assert await journal.get_maintenance("blade3") is None


async def test_an_error_note_never_overwrites_a_finished_operation(journal):
    op = await journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=1)
    await journal.set_phase(op.id, "Running", now=2)
    assert await journal.note_error(op.id, 3, "interrupted (Ctrl-C)") is True
    running = await journal.get(op.id)
    assert (running.phase, running.last_error) == ("Running", "interrupted (Ctrl-C)")
    await journal.set_phase(op.id, "Succeeded", now=4)
    assert await journal.note_error(op.id, 5, "interrupted (Ctrl-C)") is False
    assert (await journal.get(op.id)).phase == "Succeeded"


async def test_unfinished_lists_running_operations_only(journal):
    a = await journal.create("drain", "blade1", {}, ["x"], [], now=1)
    b = await journal.create("drain", "blade2", {}, ["x"], [], now=1)
    await journal.set_phase(a.id, "Running", now=2, owner="host|boot|123|1")
    await journal.set_phase(b.id, "Succeeded", now=2)
    assert [op.id for op in await journal.unfinished()] == [a.id]


def test_a_corrupt_or_unopenable_journal_is_a_journal_error_naming_the_path(tmp_path):
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_text("this is not a database " * 100)
    with pytest.raises(JournalError, match=f"journal {corrupt}: file is not a database"):
        SqliteJournal(corrupt)
    with pytest.raises(JournalError, match=f"journal {tmp_path}:"):
        SqliteJournal(tmp_path)  # a directory


async def test_a_sqlite_journal_that_breaks_after_opening_says_so(tmp_path):
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    path.write_text("overwritten " * 100)
    with pytest.raises(JournalError, match="journal"):
        await journal.list()


async def test_unfinished_operations_are_found_however_many_came_after(journal):
    old = await journal.create("drain", "blade3", {}, ["plan"], ["blade3"], now=1)
    await journal.set_phase(old.id, "Running", now=2, owner="host|boot|1|1")
    for i in range(30):
        await journal.refuse("drain", "blade2", {}, f"refused {i}", now=3 + i)
    assert [op.id for op in await journal.unfinished()] == [old.id]
    assert (await journal.list(1))[0].phase == "Refused" and await journal.locks() == {"blade3": old.id}


async def test_since_finds_every_operation_of_a_window_however_many(journal):
    older = await journal.create("evacuate", "blade3", {}, [], [], now=1)
    acted = await journal.create("evacuate", "blade2", {"by": "drewburr"}, [], [], now=10)
    for i in range(250):
        await journal.refuse("evacuate", "blade4", {}, f"storm {i}", now=11 + i)
    window = await journal.since(10)
    assert len(window) == 251 and window[-1].id == acted.id and older.id not in [o.id for o in window]


async def test_the_loop_runs_on_while_a_write_waits_for_another_process_lock(tmp_path):
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    other = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)  # another drewburr
    other.execute("BEGIN EXCLUSIVE")
    counting = asyncio.create_task(ticker())
    write = asyncio.create_task(journal.put_maintenance(Maintenance(blade="blade3", op_id=1, since=5)))
    for _ in range(500):  # until the loop has ticked a while, with a deadline
        if ticks > 10:
            break
        await asyncio.sleep(0.01)
    waited, ticked = write.done(), ticks
    other.execute("COMMIT")
    other.close()
    await write
    counting.cancel()
    assert not waited and ticked > 10  # the write waited for the lock, and the loop went on meanwhile
    assert (await journal.get_maintenance("blade3")).op_id == 1  # then it went through


async def test_a_confirmation_is_used_at_most_once_and_survives_a_new_journal_object(opener):
    first = opener()
    await first.put_confirmation(Confirmation(id="c1", user="U1", channel="C1", text="drain blade3",
                                              fingerprint="f", expires=100.0))
    again = opener()  # another process, or the same after a restart
    assert (await again.get_confirmation("c1")).state == "pending"
    results = await asyncio.gather(*(again.settle_confirmation("c1", "confirmed") for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert (await first.get_confirmation("c1")).state == "confirmed"
    assert not await first.settle_confirmation("c1", "cancelled")
    assert await first.get_confirmation("nosuch") is None


async def test_locks_of_several_keys_are_taken_together_or_not_at_all(journal):
    first = await journal.create("drain", "blade2", {}, ["a"], ["blade:blade2"], now=1)
    with pytest.raises(Locked, match="blade2"):
        await journal.create("reboot", "all", {}, ["a"], ["blade:blade1", "blade:blade2"], now=2)
    assert await journal.locks() == {"blade:blade2": first.id}  # blade1 was not taken either


async def test_a_kubernetes_journal_whose_namespace_is_missing_says_which(journal_lab):
    journal = KubernetesJournal(K8sGateway(journal_lab.workdir / "kubeconfig"), "nosuch")
    with pytest.raises(JournalError, match="journal \\(Kubernetes namespace nosuch\\)"):
        await journal.create("drain", "blade3", {}, ["a"], ["blade:blade3"], now=1)
    assert await journal.list() == []


async def test_a_journal_from_before_lock_keys_keeps_its_blade_locks_as_keys(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE operations (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
        " target TEXT NOT NULL, params TEXT NOT NULL, phase TEXT NOT NULL, created REAL NOT NULL,"
        " last_transition REAL NOT NULL,"
        " last_error TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, owner TEXT, heartbeat REAL);"
        "CREATE TABLE locks (blade TEXT PRIMARY KEY, op_id INTEGER NOT NULL);"
        "INSERT INTO operations (kind, target, params, phase, created, last_transition)"
        " VALUES ('drain', 'blade3', '{}', 'Running', 1, 1);"
        "INSERT INTO locks VALUES ('blade3', 1);")
    db.close()
    journal = SqliteJournal(path)
    assert await journal.locks() == {"blade:blade3": 1}
    with pytest.raises(Locked, match="blade3 is locked by operation 1 \\(drain\\)"):
        await journal.create("drain", "blade3", {}, ["a"], ["blade:blade3"], now=2)


async def test_the_automation_pause_is_kept_until_lifted_and_seen_by_another_process(journal, opener):
    assert await journal.paused() is None
    await journal.set_paused(Paused(by="U0ADMIN", reason="ceph work tonight", since=5.0))
    await journal.set_paused(Paused(by="U0OTHER", reason="still", since=6.0))  # a second pause replaces it
    assert await opener().paused() == Paused(by="U0OTHER", reason="still", since=6.0)
    await journal.set_paused(None)
    assert await opener().paused() is None


async def test_incidents_are_kept_by_fact_oldest_first_and_seen_by_another_process(journal, opener):
    await journal.put_incident(Incident(fact="fence:blade3", opened=20.0))
    await journal.put_incident(Incident(fact="evacuate:blade2", opened=10.0, fingerprints=["a1"]))
    await journal.put_incident(Incident(fact="fence:blade3", opened=20.0, ts="1.000100", op_id=7))
    found = await opener().incidents()
    assert [(i.fact, i.ts, i.op_id) for i in found] == [("evacuate:blade2", None, None),
                                                        ("fence:blade3", "1.000100", 7)]
