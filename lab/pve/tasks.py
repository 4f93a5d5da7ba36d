"""PVE worker tasks: UPIDs, status, logs, and the `/nodes/{node}/tasks` API."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from lab.pve.domain import TaskNotFound

UPID_RE = re.compile(r"^UPID:([a-zA-Z0-9][a-zA-Z0-9.-]*):([0-9A-F]{8}):([0-9A-F]{8,9}):([0-9A-F]{8}):"
                     r"([^:\s]+):([^:\s]*):([^:\s]+):$")


@dataclass
class Task:
    upid: str
    node: str
    type: str
    id: str
    user: str
    pid: int
    pstart: int
    starttime: int
    status: Literal["running", "stopped"] = "running"
    exitstatus: str | None = None
    endtime: int | None = None
    log: list[str] = field(default_factory=list)
    warnings: int = 0
    on_end: list[Callable[[float], object]] = field(default_factory=list)
    # what a SIGTERM does to the worker (`DELETE .../tasks/{upid}`); unset: the task just ends
    on_stop: Callable[[float], None] | None = None

    def status_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"upid": self.upid, "node": self.node, "pid": self.pid,
                               "pstart": self.pstart, "starttime": self.starttime, "type": self.type,
                               "id": self.id, "user": self.user, "status": self.status}
        if self.status == "stopped":
            out["exitstatus"] = self.exitstatus
            out["endtime"] = self.endtime
        return out

    def list_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.status_json().items() if k not in ("exitstatus", "status")}
        if self.status == "stopped":
            out["status"] = self.exitstatus  # the task list shows the end status in `status`
        return out

    def write(self, line: str) -> None:
        self.log.append(line)

    def warn(self, line: str) -> None:
        self.warnings += 1
        self.log.append(f"WARN: {line}")

    def finish(self, now: float, error: str | None = None) -> None:
        if self.status == "stopped":
            return
        if error is not None:
            self.exitstatus = error
            self.log.append(f"TASK ERROR: {error}")
        elif self.warnings:
            self.exitstatus = f"WARNINGS: {self.warnings}"
            self.log.append(f"TASK WARNINGS: {self.warnings}")
        else:
            self.exitstatus = "OK"
            self.log.append("TASK OK")
        self.status = "stopped"
        self.endtime = int(now)
        for fn in self.on_end:
            fn(now)


INTERRUPTED = "received interrupt"  # a worker's default SIGTERM handler (RESTEnvironment::fork_worker)


def make_upid(node: str, pid: int, pstart: int, starttime: int, kind: str, obj: str, user: str) -> str:
    """`UPID:node:PID:PSTART:STARTTIME:type:id:user:` with PVE's hex fields."""
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{obj}:{user}:"


class TaskTable:
    """All tasks of the cluster, by UPID, plus the "make the next task of a kind fail" fault."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.fail_next: dict[str, str] = {}
        self._pid = 0x1000

    def new(self, node: str, kind: str, obj: str, user: str, now: float, booted_at: float) -> Task:
        self._pid += 7
        pstart = int((now - booted_at) * 100)  # clock ticks since the blade booted
        upid = make_upid(node, self._pid, pstart, int(now), kind, obj, user)
        task = Task(upid, node, kind, obj, user, self._pid, pstart, int(now))
        self.tasks[upid] = task
        return task

    def get(self, node: str, upid: str) -> Task:
        match = UPID_RE.match(upid)
        if not match:
            raise TaskNotFound(upid, malformed=True)
        task = self.tasks.get(upid)
        if task is None or match.group(1) != node:
            raise TaskNotFound(upid)
        return task

    def on_node(self, node: str) -> list[Task]:
        return [t for t in self.tasks.values() if t.node == node]

    def stop(self, node: str, upid: str, now: float) -> None:
        """`DELETE /nodes/{node}/tasks/{upid}`: SIGTERM to a running worker; a stopped one is left."""
        task = self.get(node, upid)
        if task.status != "running":
            return
        if task.on_stop is not None:
            task.on_stop(now)
        task.finish(now, INTERRUPTED)  # no-op when on_stop ended it with its own words


def tasks_list(tasks: list[Task], *, start: int = 0, limit: int = 50, vmid: int | None = None,
               typefilter: str | None = None, errors: bool = False,
               source: str = "archive") -> list[dict[str, Any]]:
    """`GET /nodes/{node}/tasks`: newest first, filtered like PVE's task index."""
    picked = [t for t in sorted(tasks, key=lambda t: (t.starttime, t.pid), reverse=True)
              if (vmid is None or t.id == str(vmid))
              and (typefilter is None or t.type == typefilter)
              and (not errors or (t.status == "stopped" and t.exitstatus != "OK"))
              and (source == "all" or (source == "active") == (t.status == "running"))]
    return [t.list_json() for t in picked[start:start + limit]]


def task_log(task: Task, start: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """`GET .../tasks/{upid}/log`: lines numbered from 1, as `{n, t}`."""
    lines = task.log or ["no content"]
    return [{"n": i + 1, "t": text} for i, text in enumerate(lines)][start:start + limit]
