"""Migration: `GET/POST .../migrate` and `POST /nodes/{node}/migrateall`."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from lab.pve.base import ROOT
from lab.pve.domain import ParamError, PveError
from lab.pve.links import Transfer
from lab.pve.objects import Vm
from lab.pve.storage import StorageApi
from lab.pve.tasks import Task

# lab seconds before and after the memory transfer: remote VM start and tunnel, then switch-over
MIGRATE_SETUP, SWITCHOVER = 2.0, 1.0
MIGRATE_OVERHEAD = MIGRATE_SETUP + SWITCHOVER  # a migration's fixed cost, beside its memory transfer
OFFLINE_MIGRATE = 2.0  # shared storage: only the config moves
SSH_TIMEOUT = 3.0  # lab seconds before the migration gives up on a target that does not answer
LOCAL_DEVICES = ("hostpci", "usb")


class MigrateApi(StorageApi):
    def _local_resources(self, vm: Vm) -> list[str]:
        return sorted(k for k in vm.config if k.startswith(LOCAL_DEVICES))

    def _local_disks(self, vm: Vm) -> list[dict[str, Any]]:
        """Disks on storage that is not shared (a created guest's `local-lvm` disk)."""
        shared = {sid for sid, store in self.storages().items() if store.shared}
        return [{"volid": f"{d.storage}:{d.volume}", "size": d.size, "drivename": d.key, "is_attached": 1}
                for d in vm.disks if d.storage not in shared]

    def qemu_migrate_precondition(self, node: str, vmid: int, now: float,
                                  target: str | None = None) -> dict[str, Any]:
        """`GET .../migrate`: shared Ceph storage, so every other node is allowed, as on PVE."""
        self.require_quorum(now)
        vm = self.vm_on(node, vmid, now)
        self.check_lock(vm)
        out: dict[str, Any] = {
            "running": int(vm.running()),
            "allowed_nodes": [n for n in self.blades if n != node],
            "not_allowed_nodes": {}, "local_disks": self._local_disks(vm),
            "local_resources": self._local_resources(vm),
            "mapped-resources": [], "mapped-resource-info": {}, "has-dbus-vmstate": 1,
        }
        if vm.ha:  # qemu-server asks ha-manager which partners come along and which block a node
            dependent, blocking = self.ha_motion_info(vm.sid, now)
            out["dependent-ha-resources"] = dependent
            for name, blockers in blocking.items():
                if name != node:
                    out["not_allowed_nodes"][name] = {"blocking-ha-resources": blockers}
            out["allowed_nodes"] = [n for n in out["allowed_nodes"] if n not in out["not_allowed_nodes"]]
        return out

    def _check_target(self, source: str, target: str, now: float) -> None:
        if target == source:
            raise ParamError("target", "target is local node.")
        self.require_quorum(now)
        self.cluster_node(target)

    def _check_migrate(self, vm: Vm, target: str, online: bool, now: float,
                       with_local_disks: bool = False) -> None:
        """The checks PVE makes before forking the migration worker."""
        self._check_target(vm.node, target, now)
        self.check_lock(vm)
        if vm.running():
            if not online:
                raise PveError("can't migrate running VM without --online")
            if local := self._local_resources(vm):
                raise PveError(f"can't migrate VM which uses local devices: {', '.join(local)}")
            if self._local_disks(vm):  # PVE finds it in the task's volume scan; the lab refuses at once
                if with_local_disks:
                    raise PveError("live migration with local disks is not simulated by the lab", 501)
                raise PveError("can't live migrate attached local disks without with-local-disks option")

    def qemu_migrate(self, node: str, vmid: int, target: str, now: float, online: bool = False,
                     user: str = ROOT, bwlimit: int | None = None, with_local_disks: bool = False) -> str:
        """`POST .../migrate`. An HA-managed VM only queues `ha-manager migrate` (`hamigrate`)."""
        vm = self.vm_on(node, vmid, now)
        self._check_migrate(vm, target, online, now, with_local_disks)
        if vm.ha:
            return self.ha_migrate_request(vm, target, now, user).upid
        return self.qm_migrate(vm, target, now, user, bwlimit).upid

    def qm_migrate(self, vm: Vm, target: str, now: float, user: str = ROOT,
                   bwlimit: int | None = None) -> Task:
        """The `qmigrate` worker: live when running (memory over both NICs, shared with other
        transfers, at most `bwlimit` KiB/s), else offline."""
        source = vm.node
        live = vm.running()
        vm.lock = "migrate"
        unreachable = not self.blades[target].reachable(now)
        no_room = live and not unreachable and self.mem_free(target) < vm.memory
        if live and not (no_room or unreachable):
            vm.migrating_to = target
        cap = bwlimit * 1024 if bwlimit else float("inf")
        duration = 1.5 if no_room else OFFLINE_MIGRATE
        start = now
        sent: list[float] = []  # when the memory transfer began and ended

        def move(task: Task, end: float) -> None:
            if unreachable:  # the ssh check in QemuMigrate's prepare phase
                _log(task, end, f"migration aborted (duration {_hms(end - start)}): Can't connect to "
                                "destination address using public key", error=True)
                raise PveError("migration aborted")
            if not self.blades[target].reachable(end) or no_room:
                if no_room:
                    _log(task, end, f"[{target}] kvm: cannot set up guest memory 'pc.ram': "
                                    "Cannot allocate memory")
                    _log(task, end, f"[{target}] start failed: QEMU exited with code 1")
                _log(task, end, "online migrate failure - remote command failed with exit code 255",
                     error=True)
                _log(task, end, "aborting phase 2 - cleanup resources")
                _log(task, end, f"migration finished with problems (duration {_hms(end - start)})",
                     error=True)
                raise PveError("migration problems")
            if live:
                speed = vm.memory / max(sent[1] - sent[0], 1e-9)
                _log(task, end, f"average migration speed: {render_bytes(speed)}/s - downtime 42 ms")
                _log(task, end, f"migration completed, transferred {render_bytes(vm.memory)} VM-state")
                _log(task, end, "migration status: completed")
            vm.node = target
            if vm.ha:
                vm.ha_state = "started" if vm.running() else "stopped"
            _log(task, end, f"migration finished successfully (duration {_hms(end - start)})")

        flows: list[Transfer] = []

        def unlock() -> None:
            vm.lock = None
            vm.migrating_to = None
            for flow in flows:  # a stopped task's transfer stops too
                self.links.remove(flow, self.now)

        if unreachable or no_room or not live:
            task = self.run_task(source, "qmigrate", vm.vmid, now, SSH_TIMEOUT if unreachable else duration,
                                 move, user=user, cleanup=unlock)
        else:  # the memory crosses both NICs, shared with every other transfer on them
            task, finish = self.start_task(source, "qmigrate", vm.vmid, now, move, user, unlock)

            def transferred(t: float) -> None:
                sent.append(t)
                self.at(t + SWITCHOVER, finish)

            def send(t: float) -> None:
                if task.status == "stopped":
                    return
                sent.append(t)
                flows.append(Transfer(source, target, vm.memory, cap, transferred))
                self.links.start(flows[-1], t)

            self.at(now + MIGRATE_SETUP, send)
        if unreachable:
            return task
        _log(task, now, f"starting migration of VM {vm.vmid} to node '{target}' ({self.blades[target].ip})")
        if live:
            _log(task, now, f"starting VM {vm.vmid} on remote node '{target}'")
            _log(task, now, "start remote tunnel")
            _log(task, now, f"starting online/live migration on unix:/run/qemu-server/{vm.vmid}.migrate")
        return task

    def node_migrateall(self, node: str, target: str, now: float, maxworkers: int | None = None,
                        vms: list[int] | None = None, user: str = ROOT) -> str:
        """`POST /nodes/{node}/migrateall`: every guest (or `vms`) to one target, `maxworkers` at
        a time; guests that fail the checks are skipped with a warning."""
        self.online_blade(node, now)
        self._check_target(node, target, now)
        if not maxworkers:
            raise PveError("either 'max-workers' parameter or max_workers in datacenter.cfg must be set!")
        queue = sorted(v.vmid for v in self.vms.values()
                       if v.node == node and (vms is None or v.vmid in vms))
        task, forced = self.open_task(node, "migrateall", "", now, user)
        if forced is not None or not queue:
            if not queue:  # a plain Perl warn: logged, but not counted as a task warning
                task.write("no virtual guests matched, nothing to do..")
            self.at(now + 1, lambda t: task.finish(t, forced))
            return task.upid
        active: set[str] = set()
        started = 0

        def pump(t: float) -> None:
            nonlocal started
            if task.status != "running":  # stopped (DELETE .../tasks): no new workers; started ones go on
                return
            while queue and len(active) < maxworkers:
                vmid = queue.pop(0)
                try:
                    child = self._migrateall_one(node, vmid, target, t, task, user)
                except PveError as exc:  # pve-manager warns (a plain warn, uncounted) and goes on
                    task.write(f"Check VM {vmid}: {exc.message}")
                    continue
                if child is None:
                    continue
                started += 1
                active.add(child.upid)
                child.on_end.append(lambda t2, upid=child.upid: (active.discard(upid), pump(t2)))
            if not queue and not active and task.status == "running":
                if started:
                    task.write(f"All jobs finished, used {started} workers in total.")
                task.finish(t, None if started else "no migrations worker started...")

        self.at(now + 0.5, pump)
        return task.upid

    def _migrateall_one(self, node: str, vmid: int, target: str, now: float, task: Task,
                        user: str) -> Task | None:
        """pve-manager's create_migrate_worker for one guest: preconditions, then migrate_vm."""
        pre = self.qemu_migrate_precondition(node, vmid, now, target)
        if pre["local_resources"]:
            task.write(f"Check VM {vmid}: skip VM {vmid} - precondition check failed:")
            task.write(f"  Has local resources: {', '.join(pre['local_resources'])}")
            return None
        vm = self.vms[vmid]
        self._check_migrate(vm, target, True, now)
        task.write(f"Check VM {vmid}: precondition check passed")
        task.write(f"Migrating VM {vmid}")
        if vm.ha:
            return self.ha_migrate_request(vm, target, now, user)
        return self.qm_migrate(vm, target, now, user)


def _log(task: Task, when: float, text: str, error: bool = False) -> None:
    """A line as PVE::AbstractMigrate logs it: stamped with the (lab) time, errors marked."""
    stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S")
    task.write(f"{stamp} {'ERROR: ' if error else ''}{text}")


def render_bytes(value: float) -> str:
    """PVE::Tools::render_bytes with one decimal: 6.0 GiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    power = min(int(math.log(value, 1024)), len(units) - 1) if value > 1023 else 0
    return f"{value / 1024**power:.1f} {units[power]}"


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
