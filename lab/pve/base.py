"""State shared by every area of the PVE model: blades, VMs, tasks, a timeline of due events.

Time moves only through `advance(now)`: events scheduled with `at(t, fn)` run in time
order with their own due time, so a model driven by a manual clock is deterministic.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from itertools import count
from typing import Any

from lab.pve.access import AccessConfig
from lab.pve.domain import ConfigLocked, NodeOffline, NoSuchNode, NotQuorate, PveError, VmNotFound
from lab.pve.links import Links
from lab.pve.objects import HOST_RESERVED, Blade, Vm
from lab.pve.tasks import INTERRUPTED, Task, TaskTable

ROOT = "root@pam"
log = logging.getLogger(__name__)


class PveState:
    def __init__(self, blades: dict[str, Blade], vms: dict[int, Vm], storage: str,
                 timings: Any, now: float) -> None:
        self.blades = blades
        self.vms = vms
        self.storage = storage
        self.timings = timings
        self.task_table = TaskTable()
        self.fence_due: dict[str, float] = {}  # blade -> when HA has fenced it
        self.lrm_was_active: dict[str, bool] = {}  # an unreachable blade's LRM state, as it last wrote it
        self.ha_rules: dict[str, dict[str, Any]] = {}  # rule id -> its options (ha_rules.py)
        self.quorum_lost = False  # the cluster-wide lose_quorum fault, on top of the votes
        self.tokens: dict[str, str] = {}  # "user@realm!tokenid" -> secret
        self.passwords: dict[str, str] = {}  # "user@realm" -> password, for ticket auth
        self.privileges: dict[str, frozenset[str]] = {}  # a limited token's privileges (permissions.py)
        self.access = AccessConfig()  # roles, users, tokens' privilege separation, ACLs (access.py)
        self.now = now
        self.links = Links(lambda node: self.blades[node].nic_bandwidth, self.at, now)
        self._events: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = count()

    @property
    def tasks(self) -> dict[str, Task]:
        return self.task_table.tasks

    # --- time -------------------------------------------------------------------------------
    def at(self, when: float, fn: Callable[[float], None]) -> None:
        heapq.heappush(self._events, (when, next(self._seq), fn))

    def advance(self, now: float) -> None:
        """Run every event due by `now`, in order; then let HA act."""
        while self._events and self._events[0][0] <= now:
            when, _, fn = heapq.heappop(self._events)
            self.now = max(self.now, when)
            try:
                fn(when)
            except Exception:  # a lab bug in one event must not stop time for the rest
                log.exception("lab: PVE event at %s failed", when)
            self._ha_tick(when)
        self.now = max(self.now, now)
        self._ha_tick(self.now)

    # Hooks one area offers another; each is overridden by the area named.
    def _ha_tick(self, now: float) -> None:
        """HA: act on the services' states (recovery, queued starts)."""

    def ha_node_state(self, node: str, now: float) -> str:
        """HA: the node's state in ha-manager."""
        return "online"

    def ha_node_lost(self, node: str, now: float) -> None:
        """HA: a blade went down."""

    def ha_node_back(self, node: str, now: float) -> None:
        """HA: a blade is back online."""

    def qemu_power_on(self, vm: Vm, now: float, task: Task | None = None) -> None:
        """qemu: start the VM's QEMU process; PveError when the blade cannot (too many cores, no memory)."""

    def cluster_node(self, name: str) -> None:
        if name not in self.blades:
            raise PveError(f"no such cluster node '{name}'")

    def ha_motion_info(self, sid: str, now: float) -> tuple[list[str], dict[str, list[dict[str, str]]]]:
        """HA: the resources that move along with `sid`, and per node the ones blocking a move there."""
        return [], {}

    def ha_resource_create(self, sid: str, now: float, state: str = "started") -> None:
        """HA: put a guest under HA with the requested state."""
        raise NotImplementedError

    def ha_migrate_request(self, vm: Vm, target: str, now: float, user: str) -> Task:
        """HA: queue `ha-manager migrate`; returns the `hamigrate` task."""
        raise NotImplementedError

    # --- lookups and checks ----------------------------------------------------------------------
    def blade(self, node: str) -> Blade:
        blade = self.blades.get(node)
        if blade is None:
            raise NoSuchNode(node)
        return blade

    def online_blade(self, node: str, now: float) -> Blade:
        """The blade a `/nodes/{node}/...` request is proxied to; 595 when it does not answer."""
        blade = self.blade(node)
        if not blade.online(now):
            raise NodeOffline(node)
        if blade.isolated:
            raise NodeOffline(node, "Connection timed out")
        return blade

    def vm_on(self, node: str, vmid: int, now: float) -> Vm:
        self.online_blade(node, now)
        vm = self.vms.get(vmid)
        if vm is None or vm.node != node:
            raise VmNotFound(node, vmid)
        return vm

    def reachable(self, node: str, now: float) -> bool:
        """Whether the quorate partition, Ceph and the K3s peers reach the blade (online, not cut off).

        The lab answers as the quorate majority would, so every view of a blade uses this.
        """
        blade = self.blades.get(node)
        return blade is not None and blade.reachable(now)

    def quorate(self, now: float) -> bool:
        votes = sum(1 for b in self.blades.values() if b.reachable(now))
        return not self.quorum_lost and votes * 2 > len(self.blades)

    def require_quorum(self, now: float) -> None:
        if not self.quorate(now):
            raise NotQuorate()

    @staticmethod
    def check_lock(vm: Vm) -> None:
        if vm.lock:
            raise ConfigLocked(vm.vmid, vm.lock)

    def local_node(self, now: float) -> str:
        """The node answering the API (pveproxy's own node): the first online blade."""
        return next((b.name for b in self.blades.values() if b.reachable(now)),
                    next(iter(self.blades)))

    def mem_used(self, node: str) -> int:
        """Host memory in use: PVE and Ceph, running guests, and guests migrating in."""
        return HOST_RESERVED + sum(v.memory for v in self.vms.values()
                                   if (v.running() or v.starting)
                                   and (v.node == node or v.migrating_to == node))

    def mem_free(self, node: str) -> int:
        return self.blades[node].memory - self.mem_used(node)

    # --- tasks -----------------------------------------------------------------------------------
    def run_task(self, node: str, kind: str, obj: str | int, now: float, duration: float,
                 work: Callable[[Task, float], None] | None = None, user: str = ROOT,
                 cleanup: Callable[[], None] | None = None, interrupted: str = INTERRUPTED) -> Task:
        """Start a worker task that runs `work(task, end)` after `duration` lab seconds.

        `work` raising PveError ends the task with that message as exitstatus; a pending
        `fail_next_task` for this kind ends it with the given message instead. `cleanup`
        runs however the task ends (e.g. to release a config lock), also when the task is
        stopped, which ends it with `interrupted`.
        """
        task, finish = self.start_task(node, kind, obj, now, work, user, cleanup, interrupted)
        self.at(now + duration, finish)
        return task

    def start_task(self, node: str, kind: str, obj: str | int, now: float,
                   work: Callable[[Task, float], None] | None = None, user: str = ROOT,
                   cleanup: Callable[[], None] | None = None,
                   interrupted: str = INTERRUPTED) -> tuple[Task, Callable[[float], None]]:
        """A worker task that ends when the caller calls `finish(end)` (see `run_task`)."""
        blade = self.blade(node)
        task, forced = self.open_task(node, kind, obj, now, user)
        boot_seq = blade.boot_seq

        def finish(end: float) -> None:
            if task.status == "stopped":
                return
            if blade.boot_seq != boot_seq:  # the blade lost power under the task: it never ends
                if cleanup is not None:
                    cleanup()
                return
            error = forced
            try:
                if work is not None and forced is None:
                    work(task, end)
            except PveError as exc:
                error = exc.message
            except Exception as exc:  # a lab bug: end the task as PVE ends a worker that dies
                log.exception("lab: %s task %s failed", kind, task.upid)
                error = f"internal error - {type(exc).__name__}: {exc}"
            finally:
                if cleanup is not None:
                    cleanup()
            task.finish(end, error)

        def stop(end: float) -> None:
            if cleanup is not None:
                cleanup()
            task.finish(end, interrupted)

        task.on_stop = stop
        return task, finish

    def open_task(self, node: str, kind: str, obj: str | int, now: float,
                  user: str = ROOT) -> tuple[Task, str | None]:
        """A new running task, and the error it must end with if a fault asked for one."""
        task = self.task_table.new(node, kind, str(obj), user, now, self.blades[node].booted_at)
        return task, self.task_table.fail_next.pop(kind, None)

    def fail_next_task(self, kind: str, message: str) -> None:
        """Fault: the next task of type `kind` (e.g. "qmigrate") ends with `message`."""
        self.task_table.fail_next[kind] = message
