"""The SQLite journal (the default backend).

Each call runs in a worker thread as one transaction (`BEGIN IMMEDIATE ... COMMIT`): a call that
waits on another process's lock (up to the busy timeout) never holds up the event loop, and what
must be atomic (taking locks with the operation) is.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from infra.journal import (
    FINISHED,
    AuditEntry,
    Confirmation,
    Incident,
    Journal,
    JournalError,
    Locked,
    Maintenance,
    OperationStatus,
    Paused,
    Phase,
    StepRecord,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, target TEXT NOT NULL,
  params TEXT NOT NULL, phase TEXT NOT NULL, created REAL NOT NULL, last_transition REAL NOT NULL,
  last_error TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, owner TEXT, heartbeat REAL);
CREATE TABLE IF NOT EXISTS steps (
  op_id INTEGER NOT NULL REFERENCES operations(id), seq INTEGER NOT NULL, name TEXT NOT NULL,
  outcome TEXT NOT NULL, started REAL, finished REAL, attempts INTEGER NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY (op_id, name));
CREATE TABLE IF NOT EXISTS locks (key TEXT PRIMARY KEY, op_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS maintenance (blade TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS homes (vmid INTEGER PRIMARY KEY, blade TEXT NOT NULL, op_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, op_id INTEGER, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS confirmations (id TEXT PRIMARY KEY, state TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pause (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (fact TEXT PRIMARY KEY, opened REAL NOT NULL, record TEXT NOT NULL);
"""
BUSY_TIMEOUT = 30  # seconds a call waits for another process (an `ops resume` beside a drain)

P = ParamSpec("P")
T = TypeVar("T")


class SqliteJournal(Journal):
    def __init__(self, path: Path | str) -> None:
        """Opens (creating) the file and its tables: blocking, so done once, before the loop runs."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)
            try:
                db.executescript(SCHEMA)  # executescript commits by itself
                _migrate(db)
            finally:
                db.close()
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"journal {self.path}: {exc}") from exc

    async def _run(self, fn: Callable[Concatenate[sqlite3.Connection, P], T],
                   *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(db, ...)` as one transaction in a worker thread."""
        return await asyncio.to_thread(lambda: self._transaction(fn, *args, **kwargs))

    def _transaction(self, fn: Callable[Concatenate[sqlite3.Connection, P], T],
                     *args: P.args, **kwargs: P.kwargs) -> T:
        # One connection per call, opened and closed in its worker thread: none crosses threads.
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: {exc}") from exc
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE")
            result = fn(db, *args, **kwargs)
            db.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise JournalError(f"journal {self.path}: {exc}") from exc
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    async def create(self, kind: str, target: str, params: dict[str, Any], steps: builtins.list[str],
                     keys: builtins.list[str], now: float) -> OperationStatus:
        return await self._run(_create, kind, target, params, steps, keys, now)

    async def get(self, op_id: int) -> OperationStatus | None:
        return await self._run(_get, op_id)

    async def list(self, limit: int = 20) -> builtins.list[OperationStatus]:
        return await self._run(_list, "SELECT id FROM operations ORDER BY id DESC LIMIT ?", (limit,))

    async def unfinished(self) -> builtins.list[OperationStatus]:
        """Every operation not yet ended, however old (a plain `list` stops at its limit)."""
        marks = ", ".join("?" * len(FINISHED))
        return await self._run(_list, f"SELECT id FROM operations WHERE phase NOT IN ({marks}) ORDER BY id",
                               tuple(sorted(FINISHED)))

    async def since(self, when: float) -> builtins.list[OperationStatus]:
        return await self._run(_list, "SELECT id FROM operations WHERE created >= ? ORDER BY id DESC",
                               (when,))

    async def set_phase(self, op_id: int, phase: Phase, now: float, error: str | None = None,
                        owner: str | None = None) -> None:
        await self._run(_set_phase, op_id, phase, now, error, owner)

    async def beat(self, op_id: int, now: float) -> None:
        await self._run(_execute, "UPDATE operations SET heartbeat = ? WHERE id = ?", (now, op_id))

    async def note_error(self, op_id: int, now: float, error: str) -> bool:
        return bool(await self._run(_note_error, op_id, now, error))

    async def update_params(self, op_id: int, params: dict[str, Any]) -> None:
        await self._run(_update_params, op_id, params)

    async def record_step(self, op_id: int, step: StepRecord) -> None:
        await self._run(_execute, "UPDATE steps SET outcome = ?, started = ?, finished = ?, attempts = ?, "
                        "message = ? WHERE op_id = ? AND name = ?",
                        (step.outcome, step.started, step.finished, step.attempts, step.message,
                         op_id, step.name))

    async def request_cancel(self, op_id: int) -> None:
        await self._run(_execute, "UPDATE operations SET cancel_requested = 1 WHERE id = ?", (op_id,))

    async def take_locks(self, op_id: int, keys: builtins.list[str]) -> None:
        await self._run(_lock, op_id, keys)

    async def locks(self) -> dict[str, int]:
        rows = await self._run(_rows, "SELECT key, op_id FROM locks", ())
        return {r["key"]: r["op_id"] for r in rows}

    async def audit(self, entry: AuditEntry) -> None:
        await self._run(_execute, "INSERT INTO audit (op_id, record) VALUES (?, ?)",
                        (entry.op_id, entry.model_dump_json()))

    async def audit_log(self, limit: int = 50, op_id: int | None = None) -> builtins.list[AuditEntry]:
        where = "WHERE op_id = ?" if op_id is not None else "WHERE ? IS NULL"
        rows = await self._run(_rows, f"SELECT record FROM audit {where} ORDER BY id DESC LIMIT ?",
                               (op_id, limit))
        return [AuditEntry.model_validate_json(r["record"]) for r in rows]

    async def put_confirmation(self, confirmation: Confirmation) -> None:
        await self._run(_execute, "INSERT OR REPLACE INTO confirmations (id, state, record) VALUES (?, ?, ?)",
                        (confirmation.id, confirmation.state, confirmation.model_dump_json()))

    async def get_confirmation(self, confirmation_id: str) -> Confirmation | None:
        rows = await self._run(_rows, "SELECT state, record FROM confirmations WHERE id = ?",
                               (confirmation_id,))
        if not rows:
            return None
        found = Confirmation.model_validate_json(rows[0]["record"])
        return found.model_copy(update={"state": rows[0]["state"]})

    async def settle_confirmation(self, confirmation_id: str, state: str) -> bool:
        sql = "UPDATE confirmations SET state = ? WHERE id = ? AND state = 'pending'"
        return bool(await self._run(_rowcount, sql, (state, confirmation_id)))

    async def set_paused(self, paused: Paused | None) -> None:
        if paused is None:
            await self._run(_execute, "DELETE FROM pause", ())
        else:
            await self._run(_execute, "INSERT OR REPLACE INTO pause (id, record) VALUES (1, ?)",
                            (paused.model_dump_json(),))

    async def paused(self) -> Paused | None:
        rows = await self._run(_rows, "SELECT record FROM pause", ())
        return Paused.model_validate_json(rows[0]["record"]) if rows else None
    async def put_incident(self, incident: Incident) -> None:
        await self._run(_execute, "INSERT OR REPLACE INTO incidents (fact, opened, record) VALUES (?, ?, ?)",
                        (incident.fact, incident.opened, incident.model_dump_json()))

    async def incidents(self) -> builtins.list[Incident]:
        rows = await self._run(_rows, "SELECT record FROM incidents ORDER BY opened, fact", ())
        return [Incident.model_validate_json(r["record"]) for r in rows]

    async def put_maintenance(self, record: Maintenance) -> None:
        await self._run(_execute, "INSERT OR REPLACE INTO maintenance (blade, record) VALUES (?, ?)",
                        (record.blade, record.model_dump_json()))

    async def get_maintenance(self, blade: str) -> Maintenance | None:
        rows = await self._run(_rows, "SELECT record FROM maintenance WHERE blade = ?", (blade,))
        return Maintenance.model_validate_json(rows[0]["record"]) if rows else None

    async def clear_maintenance(self, blade: str) -> None:
        await self._run(_execute, "DELETE FROM maintenance WHERE blade = ?", (blade,))

    async def maintenance(self) -> builtins.list[Maintenance]:
        rows = await self._run(_rows, "SELECT record FROM maintenance ORDER BY blade", ())
        return [Maintenance.model_validate_json(r["record"]) for r in rows]

    async def remember_homes(self, placement: dict[int, str], op_id: int) -> None:
        await self._run(_executemany, "INSERT OR IGNORE INTO homes (vmid, blade, op_id) VALUES (?, ?, ?)",
                        [(vmid, blade, op_id) for vmid, blade in placement.items()])

    async def homes(self) -> dict[int, tuple[str, int]]:
        rows = await self._run(_rows, "SELECT vmid, blade, op_id FROM homes", ())
        return {r["vmid"]: (r["blade"], r["op_id"]) for r in rows}

    async def forget_homes(self, vmids: builtins.list[int]) -> None:
        await self._run(_executemany, "DELETE FROM homes WHERE vmid = ?", [(v,) for v in vmids])


# What runs inside one transaction, in the worker thread.

def _execute(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> None:
    db.execute(sql, args)


def _executemany(db: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    db.executemany(sql, rows)


def _rows(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
    return db.execute(sql, args).fetchall()


def _lock(db: sqlite3.Connection, op_id: int, keys: list[str]) -> None:
    for key in keys:
        row = db.execute("SELECT l.op_id, o.kind FROM locks l JOIN operations o ON o.id = l.op_id "
                         "WHERE l.key = ?", (key,)).fetchone()
        if row and row["op_id"] != op_id:
            raise Locked(key, row["op_id"], row["kind"])
        db.execute("INSERT OR REPLACE INTO locks (key, op_id) VALUES (?, ?)", (key, op_id))


def _create(db: sqlite3.Connection, kind: str, target: str, params: dict[str, Any], steps: list[str],
            keys: list[str], now: float) -> OperationStatus:
    cur = db.execute("INSERT INTO operations (kind, target, params, phase, created, last_transition) "
                     "VALUES (?, ?, ?, 'Pending', ?, ?)", (kind, target, json.dumps(params), now, now))
    op_id = int(cur.lastrowid or 0)
    _lock(db, op_id, keys)  # Locked rolls the whole operation back: a refused one leaves nothing
    db.executemany("INSERT INTO steps (op_id, seq, name, outcome, attempts, message) "
                   "VALUES (?, ?, ?, 'pending', 0, '')", [(op_id, i, name) for i, name in enumerate(steps)])
    op = _get(db, op_id)
    assert op is not None
    return op


def _get(db: sqlite3.Connection, op_id: int) -> OperationStatus | None:
    row = db.execute("SELECT * FROM operations WHERE id = ?", (op_id,)).fetchone()
    if row is None:
        return None
    steps = db.execute("SELECT * FROM steps WHERE op_id = ? ORDER BY seq", (op_id,)).fetchall()
    return OperationStatus(
        id=row["id"], kind=row["kind"], target=row["target"], params=json.loads(row["params"]),
        phase=row["phase"], created=row["created"], last_transition=row["last_transition"],
        last_error=row["last_error"], cancel_requested=bool(row["cancel_requested"]), owner=row["owner"],
        heartbeat=row["heartbeat"],
        steps=[StepRecord(name=s["name"], outcome=s["outcome"], started=s["started"],
                          finished=s["finished"], attempts=s["attempts"], message=s["message"])
               for s in steps])


def _list(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[OperationStatus]:
    """The operations whose ids `sql` selects, read in the same transaction."""
    return [op for op in (_get(db, r["id"]) for r in db.execute(sql, args).fetchall()) if op is not None]


def _set_phase(db: sqlite3.Connection, op_id: int, phase: Phase, now: float, error: str | None,
               owner: str | None) -> None:
    db.execute("UPDATE operations SET phase = ?, last_transition = ?, last_error = COALESCE(?, last_error), "
               "owner = COALESCE(?, owner), heartbeat = CASE WHEN ? IS NULL THEN heartbeat ELSE ? END "
               "WHERE id = ?", (phase, now, error, owner, owner, now, op_id))
    if phase in FINISHED:
        db.execute("DELETE FROM locks WHERE op_id = ?", (op_id,))


def _note_error(db: sqlite3.Connection, op_id: int, now: float, error: str) -> int:
    marks = ", ".join("?" * len(FINISHED))
    return db.execute(f"UPDATE operations SET last_error = ?, last_transition = ? "
                      f"WHERE id = ? AND phase NOT IN ({marks})",
                      (error, now, op_id, *sorted(FINISHED))).rowcount


def _update_params(db: sqlite3.Connection, op_id: int, params: dict[str, Any]) -> None:
    row = db.execute("SELECT params FROM operations WHERE id = ?", (op_id,)).fetchone()
    merged = {**json.loads(row["params"]), **params}
    db.execute("UPDATE operations SET params = ? WHERE id = ?", (json.dumps(merged), op_id))


def _rowcount(db: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    return db.execute(sql, params).rowcount


def _migrate(db: sqlite3.Connection) -> None:
    """A journal written before owners: add their columns (its old pid column stays, unread). One
    written before lock keys locked blades by name: they become `blade:NAME` keys."""
    have = {row[1] for row in db.execute("PRAGMA table_info(operations)")}
    for column, kind in (("owner", "TEXT"), ("heartbeat", "REAL")):
        if column not in have:
            db.execute(f"ALTER TABLE operations ADD COLUMN {column} {kind}")
    if "blade" in {row[1] for row in db.execute("PRAGMA table_info(locks)")}:
        db.execute("ALTER TABLE locks RENAME COLUMN blade TO key")
        db.execute("UPDATE locks SET key = 'blade:' || key WHERE key NOT LIKE '%:%'")
    db.commit()
