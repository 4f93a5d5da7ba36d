"""The SQLite journal (the default backend). One connection per call: safe across processes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.journal import (
    FINISHED,
    Journal,
    JournalError,
    Locked,
    Maintenance,
    OperationStatus,
    Phase,
    StepRecord,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, target TEXT NOT NULL,
  params TEXT NOT NULL, phase TEXT NOT NULL, created REAL NOT NULL, last_transition REAL NOT NULL,
  last_error TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, pid INTEGER);
CREATE TABLE IF NOT EXISTS steps (
  op_id INTEGER NOT NULL REFERENCES operations(id), seq INTEGER NOT NULL, name TEXT NOT NULL,
  outcome TEXT NOT NULL, started REAL, finished REAL, attempts INTEGER NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY (op_id, name));
CREATE TABLE IF NOT EXISTS locks (blade TEXT PRIMARY KEY, op_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS maintenance (blade TEXT PRIMARY KEY, record TEXT NOT NULL);
"""


class SqliteJournal(Journal):
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.executescript(SCHEMA)  # executescript commits by itself
            finally:
                db.close()
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"journal {self.path}: {exc}") from exc

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: {exc}") from exc
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
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

    def _lock(self, db: sqlite3.Connection, op_id: int, blades: list[str]) -> None:
        for blade in blades:
            row = db.execute("SELECT l.op_id, o.kind FROM locks l JOIN operations o ON o.id = l.op_id "
                             "WHERE l.blade = ?", (blade,)).fetchone()
            if row and row["op_id"] != op_id:
                raise Locked(blade, row["op_id"], row["kind"])
            db.execute("INSERT OR REPLACE INTO locks (blade, op_id) VALUES (?, ?)", (blade, op_id))

    def create(self, kind: str, target: str, params: dict[str, Any], steps: list[str],
               blades: list[str], now: float) -> OperationStatus:
        with self._db() as db:
            cur = db.execute("INSERT INTO operations (kind, target, params, phase, created, last_transition) "
                             "VALUES (?, ?, ?, 'Pending', ?, ?)",
                             (kind, target, json.dumps(params), now, now))
            op_id = int(cur.lastrowid or 0)
            self._lock(db, op_id, blades)
            db.executemany("INSERT INTO steps (op_id, seq, name, outcome, attempts, message) "
                           "VALUES (?, ?, ?, 'pending', 0, '')",
                           [(op_id, i, name) for i, name in enumerate(steps)])
        op = self.get(op_id)
        assert op is not None
        return op

    def get(self, op_id: int) -> OperationStatus | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM operations WHERE id = ?", (op_id,)).fetchone()
            if row is None:
                return None
            steps = db.execute("SELECT * FROM steps WHERE op_id = ? ORDER BY seq", (op_id,)).fetchall()
        return _operation(row, steps)

    def list(self, limit: int = 20) -> list[OperationStatus]:
        with self._db() as db:
            rows = db.execute("SELECT id FROM operations ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [op for op in (self.get(i) for i in (r["id"] for r in rows)) if op is not None]

    def unfinished(self) -> list[OperationStatus]:
        """Every operation not yet ended, however old (a plain `list` stops at its limit)."""
        marks = ", ".join("?" * len(FINISHED))
        with self._db() as db:
            rows = db.execute(f"SELECT id FROM operations WHERE phase NOT IN ({marks}) ORDER BY id",
                              sorted(FINISHED)).fetchall()
        return [op for op in (self.get(r["id"]) for r in rows) if op is not None]

    def set_phase(self, op_id: int, phase: Phase, now: float, error: str | None = None,
                  pid: int | None = None) -> None:
        with self._db() as db:
            db.execute("UPDATE operations SET phase = ?, last_transition = ?, "
                       "last_error = COALESCE(?, last_error), pid = COALESCE(?, pid) WHERE id = ?",
                       (phase, now, error, pid, op_id))
            if phase in FINISHED:
                db.execute("DELETE FROM locks WHERE op_id = ?", (op_id,))

    def update_params(self, op_id: int, params: dict[str, Any]) -> None:
        with self._db() as db:
            row = db.execute("SELECT params FROM operations WHERE id = ?", (op_id,)).fetchone()
            merged = {**json.loads(row["params"]), **params}
            db.execute("UPDATE operations SET params = ? WHERE id = ?", (json.dumps(merged), op_id))

    def record_step(self, op_id: int, step: StepRecord) -> None:
        with self._db() as db:
            db.execute("UPDATE steps SET outcome = ?, started = ?, finished = ?, attempts = ?, message = ? "
                       "WHERE op_id = ? AND name = ?",
                       (step.outcome, step.started, step.finished, step.attempts, step.message,
                        op_id, step.name))

    def request_cancel(self, op_id: int) -> None:
        with self._db() as db:
            db.execute("UPDATE operations SET cancel_requested = 1 WHERE id = ?", (op_id,))

    def take_locks(self, op_id: int, blades: list[str]) -> None:
        with self._db() as db:
            self._lock(db, op_id, blades)

    def release_locks(self, op_id: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM locks WHERE op_id = ?", (op_id,))

    def locks(self) -> dict[str, int]:
        with self._db() as db:
            return {r["blade"]: r["op_id"] for r in db.execute("SELECT blade, op_id FROM locks")}

    def put_maintenance(self, record: Maintenance) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO maintenance (blade, record) VALUES (?, ?)",
                       (record.blade, record.model_dump_json()))

    def get_maintenance(self, blade: str) -> Maintenance | None:
        with self._db() as db:
            row = db.execute("SELECT record FROM maintenance WHERE blade = ?", (blade,)).fetchone()
        return Maintenance.model_validate_json(row["record"]) if row else None

    def clear_maintenance(self, blade: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM maintenance WHERE blade = ?", (blade,))

    def maintenance(self) -> list[Maintenance]:
        with self._db() as db:
            rows = db.execute("SELECT record FROM maintenance ORDER BY blade").fetchall()
        return [Maintenance.model_validate_json(r["record"]) for r in rows]


def _operation(row: sqlite3.Row, steps: list[sqlite3.Row]) -> OperationStatus:
    return OperationStatus(
        id=row["id"], kind=row["kind"], target=row["target"], params=json.loads(row["params"]),
        phase=row["phase"], created=row["created"], last_transition=row["last_transition"],
        last_error=row["last_error"], cancel_requested=bool(row["cancel_requested"]), pid=row["pid"],
        steps=[StepRecord(name=s["name"], outcome=s["outcome"], started=s["started"],
                          finished=s["finished"], attempts=s["attempts"], message=s["message"])
               for s in steps])
