"""An operation's owner is alive while its process is, wherever it runs, whatever its pid."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

from infra import owner
from infra.journal_sqlite import SqliteJournal

HOST, BOOT, PID, START = owner.me().split("|")


def test_this_process_owns_an_operation_only_while_it_runs_it() -> None:
    assert not owner.alive(7, owner.me(), None, 0)  # e.g. the console's Ctrl-C cancelled its task
    owner.RUNNING.add(7)
    try:
        assert owner.alive(7, owner.me(), None, 0)
    finally:
        owner.RUNNING.discard(7)


def test_on_this_host_the_pid_and_its_start_time_must_both_match() -> None:
    parent = os.getppid()
    assert owner.alive(1, f"{HOST}|{BOOT}|{parent}|{owner.process_start(parent)}", None, 0)
    assert not owner.alive(1, f"{HOST}|{BOOT}|{2**22 + 12345}|1", None, 0)  # no such process
    # pid 1 again after a container restart: the same pid, another start time
    assert not owner.alive(1, f"{HOST}|{BOOT}|{PID}|{int(START) + 1}", None, 0)


def test_a_killed_process_is_dead_before_its_parent_reaps_it() -> None:
    child = subprocess.Popen(["sleep", "60"])
    try:
        start = owner.process_start(child.pid)
        assert start is not None and owner.alive(1, f"{HOST}|{BOOT}|{child.pid}|{start}", None, 0)
        child.kill()
        for _ in range(200):  # until it has ended (a zombie: not reaped, its /proc entry stays)
            if Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        assert not owner.alive(1, f"{HOST}|{BOOT}|{child.pid}|{start}", None, 0)
    finally:
        child.kill()
        child.wait()


def test_on_another_host_the_heartbeat_decides() -> None:
    other = "bot-replica-2|another-boot|1|42"
    assert owner.alive(1, other, heartbeat=100.0, now=100.0 + owner.STALE_SECONDS - 1)
    assert not owner.alive(1, other, heartbeat=100.0, now=100.0 + owner.STALE_SECONDS + 1)
    assert not owner.alive(1, other, heartbeat=None, now=0)
    assert not owner.alive(1, None, None, 0) and not owner.alive(1, "garbage", 1.0, 1.0)


async def test_a_journal_from_before_owners_gains_their_columns(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE operations (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
               "target TEXT NOT NULL, params TEXT NOT NULL, phase TEXT NOT NULL, created REAL NOT NULL, "
               "last_transition REAL NOT NULL, last_error TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, "
               "pid INTEGER)")
    db.commit()
    db.close()
    journal = SqliteJournal(path)
    op = await journal.create("drain", "blade3", {}, ["plan"], ["blade3"], now=1)
    await journal.set_phase(op.id, "Running", now=2, owner="h|b|1|1")
    await journal.beat(op.id, now=9)
    again = await journal.get(op.id)
    assert again is not None and (again.owner, again.heartbeat) == ("h|b|1|1", 9)
