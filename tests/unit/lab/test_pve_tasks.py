"""PVE tasks: UPIDs in PVE's format, end states, and the task list's filters."""

from __future__ import annotations

import pytest

from lab.pve.domain import TaskNotFound
from lab.pve.tasks import UPID_RE, TaskTable, tasks_list


def test_a_upid_has_pves_hex_fields_and_parses_back() -> None:
    table = TaskTable()
    task = table.new("blade1", "qmigrate", "101", "root@pam", now=1_700_000_000.0,
                     booted_at=1_700_000_000.0 - 100)
    match = UPID_RE.match(task.upid)
    assert match is not None
    node, pid, pstart, start, kind, obj, user = match.groups()
    assert (node, kind, obj, user) == ("blade1", "qmigrate", "101", "root@pam")
    assert (int(pid, 16), int(pstart, 16), int(start, 16)) == (task.pid, 10_000, 1_700_000_000)


def test_a_task_ends_ok_with_warnings_or_with_an_error() -> None:
    table = TaskTable()
    ok, warned, failed = (table.new("blade1", k, "", "root@pam", 100.0, 0.0) for k in ("a", "b", "c"))
    ok.finish(110)
    warned.warn("skipped one")
    warned.finish(110)
    failed.finish(110, "migration aborted")
    assert [t.exitstatus for t in (ok, warned, failed)] == ["OK", "WARNINGS: 1", "migration aborted"]
    assert [t.log[-1] for t in (ok, warned, failed)] == ["TASK OK", "TASK WARNINGS: 1",
                                                         "TASK ERROR: migration aborted"]


def test_the_task_list_is_newest_first_and_filters() -> None:
    table = TaskTable()
    first = table.new("blade1", "qmstart", "101", "root@pam", 100.0, 0.0)
    second = table.new("blade1", "qmigrate", "102", "root@pam", 200.0, 0.0)
    running = table.new("blade1", "qmigrate", "103", "root@pam", 300.0, 0.0)
    first.finish(150)
    second.finish(250, "migration problems")
    tasks = table.on_node("blade1")
    assert [t["upid"] for t in tasks_list(tasks)] == [second.upid, first.upid]
    assert [t["status"] for t in tasks_list(tasks)] == ["migration problems", "OK"]
    assert [t["upid"] for t in tasks_list(tasks, source="active")] == [running.upid]
    assert [t["upid"] for t in tasks_list(tasks, errors=True)] == [second.upid]
    assert [t["upid"] for t in tasks_list(tasks, vmid=101)] == [first.upid]
    assert len(tasks_list(tasks, source="all", limit=2)) == 2


def test_a_task_is_found_only_on_its_own_node() -> None:
    table = TaskTable()
    task = table.new("blade1", "qmstart", "101", "root@pam", 100.0, 0.0)
    assert table.get("blade1", task.upid) is task
    with pytest.raises(TaskNotFound) as exc:
        table.get("blade2", task.upid)
    assert exc.value.errors == {"upid": "no such task"}
    with pytest.raises(TaskNotFound) as exc:
        table.get("blade1", "UPID:nonsense")
    assert exc.value.errors == {"upid": "unable to parse worker upid"}
