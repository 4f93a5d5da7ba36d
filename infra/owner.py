"""Who runs an operation: host, boot, pid and the process's start time, plus a heartbeat.

A pid alone lies in a container, where the bot is pid 1 in every life, and after a reboot,
where pids are reused. An operation is alive while its owner is: on this host (same boot),
while a process with that pid and that start time exists; on another host (a second
replica), while its heartbeat is fresh; in this very process, while its task runs here.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0  # six beats missed: the owner is gone
RUNNING: set[int] = set()  # operation ids whose machine runs in this process now


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None when
    there is no such process or it has ended (a zombie its parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return None if fields[0] == "Z" else fields[19]  # a zombie is dead, only not yet reaped


@functools.cache
def me() -> str:
    return "|".join((socket.gethostname(), _boot_id(), str(os.getpid()), process_start(os.getpid()) or "?"))


def alive(op_id: int, owner: str | None, heartbeat: float | None, now: float) -> bool:
    if owner is None:
        return False
    if owner == me():
        return op_id in RUNNING
    parts = owner.split("|")
    if len(parts) != 4:
        return False
    host, boot, pid, start = parts
    mine = me().split("|")
    if (host, boot) == (mine[0], mine[1]):
        return pid.isdigit() and process_start(int(pid)) == start
    return heartbeat is not None and now - heartbeat < STALE_SECONDS
