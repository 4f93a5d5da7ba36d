from __future__ import annotations

import pytest

from infra.journal import JournalError, Locked, Maintenance, StepRecord
from infra.journal_sqlite import SqliteJournal


@pytest.fixture
def journal(tmp_path):
    return SqliteJournal(tmp_path / "journal.sqlite")


def test_operation_starts_pending_with_its_steps(journal):
    op = journal.create("drain", "blade3", {"dry": False}, ["plan", "noout", "cordon"], ["blade3"], now=10)
    assert (op.phase, op.total, op.done, op.pending) == ("Pending", 3, 0, ["plan", "noout", "cordon"])
    assert journal.get(op.id) == op


def test_a_locked_blade_refuses_a_second_operation_naming_the_holder(journal):
    first = journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=1)
    with pytest.raises(Locked, match=f"operation {first.id} \\(drain\\)"):
        journal.create("reboot", "blade3", {}, ["a"], ["blade3"], now=2)
    assert [op.id for op in journal.list()] == [first.id]  # the refused one left nothing behind


def test_finishing_an_operation_releases_its_locks(journal):
    op = journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=1)
    journal.set_phase(op.id, "Failed", now=2, error="boom")
    assert journal.locks() == {}
    again = journal.create("drain", "blade3", {}, ["a"], ["blade3"], now=3)
    assert journal.locks() == {"blade3": again.id}
    assert journal.get(op.id).last_error == "boom"


def test_step_records_have_one_shape_and_survive_reopening(journal, tmp_path):
    op = journal.create("drain", "blade3", {}, ["cordon"], ["blade3"], now=1)
    journal.record_step(op.id, StepRecord(name="cordon", outcome="done", started=1, finished=2,
                                          attempts=2, message="kube03, kube05 cordoned"))
    reopened = SqliteJournal(tmp_path / "journal.sqlite")
    step = reopened.get(op.id).step("cordon")
    assert (step.outcome, step.attempts, step.message) == ("done", 2, "kube03, kube05 cordoned")


def test_params_merge(journal):
    op = journal.create("drain", "blade3", {"a": 1}, ["x"], [], now=1)
    journal.update_params(op.id, {"placement": {"103": "blade3"}})
    assert journal.get(op.id).params == {"a": 1, "placement": {"103": "blade3"}}


def test_maintenance_records_round_trip(journal):
    journal.put_maintenance(Maintenance(blade="blade3", op_id=1, since=5, placement={103: "blade3"},
                                        cordoned=["kube03"], noout_set=True))
    assert journal.get_maintenance("blade3").placement == {103: "blade3"}
    assert [m.blade for m in journal.maintenance()] == ["blade3"]
    journal.clear_maintenance("blade3")
    assert journal.get_maintenance("blade3") is None


def test_unfinished_lists_running_operations_only(journal):
    a = journal.create("drain", "blade1", {}, ["x"], [], now=1)
    b = journal.create("drain", "blade2", {}, ["x"], [], now=1)
    journal.set_phase(a.id, "Running", now=2, pid=123)
    journal.set_phase(b.id, "Succeeded", now=2)
    assert [op.id for op in journal.unfinished()] == [a.id]


def test_a_corrupt_or_unopenable_journal_is_a_journal_error_naming_the_path(tmp_path):
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_text("this is not a database " * 100)
    with pytest.raises(JournalError, match=f"journal {corrupt}: file is not a database"):
        SqliteJournal(corrupt)
    with pytest.raises(JournalError, match=f"journal {tmp_path}:"):
        SqliteJournal(tmp_path)  # a directory


def test_a_journal_that_breaks_after_opening_says_so(tmp_path):
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    path.write_text("overwritten " * 100)
    with pytest.raises(JournalError, match="journal"):
        journal.list()


def test_unfinished_operations_are_found_however_many_came_after(journal):
    old = journal.create("drain", "blade3", {}, ["plan"], ["blade3"], now=1)
    journal.set_phase(old.id, "Running", now=2, pid=1)
    for i in range(30):
        journal.refuse("drain", "blade2", {}, f"refused {i}", now=3 + i)
    assert [op.id for op in journal.unfinished()] == [old.id]
    assert journal.list(1)[0].phase == "Refused" and journal.locks() == {"blade3": old.id}
