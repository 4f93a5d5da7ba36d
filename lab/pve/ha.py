"""ha-manager: HA resources, `/cluster/ha/status/current`, requests through the CRM, and
fencing plus recovery of the services of a blade that died.

The CRM acts a few seconds after a request (its loop runs every 10 s on PVE), and only
while the cluster is quorate. A dead blade's services show `fence` for
`timings.ha_fence_delay`, then `recovery` until a blade with room takes them.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from lab.pve.base import ROOT, PveState
from lab.pve.domain import PveError
from lab.pve.objects import Vm
from lab.pve.qemu import QEMU_START
from lab.pve.tasks import Task

CRM_DELAY = 5.0  # lab seconds between a request and the CRM acting on it
HA_CMD = 1.0  # lab seconds a hastart/hastop/hamigrate task runs


class HaApi(PveState):
    def _service(self, sid: str) -> Vm:
        vmid = sid.removeprefix("vm:")
        vm = self.vms.get(int(vmid)) if vmid.isdigit() else None
        if vm is None or not vm.ha:
            raise PveError(f"no such resource '{sid}'")
        return vm

    # --- resources ------------------------------------------------------------------------------
    @staticmethod
    def _resource_entry(vm: Vm) -> dict[str, Any]:
        return {"sid": vm.sid, "type": "vm", "state": vm.ha_request, "max_restart": 1,
                "max_relocate": 1, "failback": 1,
                "digest": hashlib.sha1(f"{vm.sid}:{vm.ha_request}".encode()).hexdigest()}

    def ha_resources(self, now: float, type: str | None = None) -> list[dict[str, Any]]:
        if type == "ct":
            return []
        return [self._resource_entry(vm) for vm in sorted(self.vms.values(), key=lambda v: v.vmid)
                if vm.ha]

    def ha_resource(self, sid: str, now: float) -> dict[str, Any]:
        return self._resource_entry(self._service(sid))

    def ha_resource_create(self, sid: str, now: float, state: str = "started") -> None:
        """`POST /cluster/ha/resources`: put a VM under HA; the CRM then enforces `state`."""
        self.require_quorum(now)
        vmid = sid.removeprefix("vm:")
        if not vmid.isdigit():
            raise PveError(f"unable to parse service id '{sid}'")
        vm = self.vms.get(int(vmid))
        if vm is None:
            raise PveError(f"resource 'vm:{vmid}' does not exist in cluster")
        if vm.ha:
            raise PveError(f"resource ID '{vm.sid}' already defined")
        vm.ha = True
        vm.ha_request = "started" if state in ("started", "enabled") else state
        vm.ha_state = "started" if vm.running() else "stopped"
        self.at(now + CRM_DELAY, lambda t: self._crm_apply(vm, t))

    def ha_resource_update(self, sid: str, now: float, state: str | None = None) -> None:
        self.require_quorum(now)
        vm = self._service(sid)
        if state is not None:
            vm.ha_request = "started" if state == "enabled" else state
            self.at(now + CRM_DELAY, lambda t: self._crm_apply(vm, t))

    def ha_resource_delete(self, sid: str, now: float) -> None:
        self.require_quorum(now)
        vmid = sid.removeprefix("vm:")
        vm = self.vms.get(int(vmid)) if vmid.isdigit() else None
        if vm is None or not vm.ha:
            raise PveError(f"cannot delete service 'vm:{vmid}', not HA managed!")
        vm.ha = False

    # --- status ---------------------------------------------------------------------------------
    def ha_node_state(self, node: str, now: float) -> str:
        if node in self.fence_due:
            return "fence"
        return "online" if self.blades[node].online(now) else "unknown"

    def ha_status_current(self, now: float) -> list[dict[str, Any]]:
        local = self.local_node(now)
        quorate = self.quorate(now)
        stamp = int(now)
        out: list[dict[str, Any]] = [
            {"id": "quorum", "type": "quorum", "node": local, "quorate": int(quorate),
             "status": "OK" if quorate else f"No quorum on node '{local}'!"},
            {"id": "master", "type": "master", "node": local, "timestamp": stamp,
             "status": f"{local} (active, {time.ctime(stamp)})"},
        ]
        for name, blade in self.blades.items():
            seen = stamp if blade.online(now) else int(blade.down_since)
            state = "active" if blade.online(now) else "old timestamp - dead?"
            out.append({"id": f"lrm:{name}", "type": "lrm", "node": name, "timestamp": seen,
                        "status": f"{name} ({state}, {time.ctime(seen)})"})
        for vm in sorted(self.vms.values(), key=lambda v: v.vmid):
            if not vm.ha:
                continue
            state = vm.ha_state
            if vm.ha_request == "started" and not vm.running() and state in ("started", "stopped"):
                state = "starting"
            elif state == "started" and vm.ha_request == "stopped":
                state = "stopping"
            out.append({"id": f"service:{vm.sid}", "type": "service", "sid": vm.sid, "node": vm.node,
                        "crm_state": vm.ha_state, "state": state, "request_state": vm.ha_request,
                        "status": f"{vm.sid} ({vm.node}, {state})", "max_restart": 1,
                        "max_relocate": 1, "failback": 1})
        return out

    # --- requests -------------------------------------------------------------------------------
    def ha_request_state(self, vm: Vm, state: str, now: float, user: str = ROOT) -> str:
        """`hastart`/`hastop`: set the requested state; the CRM and LRM do the rest."""
        kind = "hastart" if state == "started" else "hastop"

        def request(task: Task, end: float) -> None:
            vm.ha_request = state
            self.at(end + CRM_DELAY, lambda t: self._crm_apply(vm, t))

        task = self.run_task(vm.node, kind, vm.vmid, now, HA_CMD, request, user=user)
        task.write(f"Requesting HA {'start' if state == 'started' else 'stop'} for VM {vm.vmid}")
        return task.upid

    def _crm_apply(self, vm: Vm, now: float) -> None:
        if not vm.ha or not self.quorate(now) or not self.blades[vm.node].online(now):
            return
        if vm.ha_request == "started" and not vm.running():
            vm.ha_state = "started"
            self._lrm_start(vm, now)
        elif vm.ha_request == "stopped" and vm.running():
            vm.ha_state = "request_stop"
            self.run_task(vm.node, "qmshutdown", vm.vmid, now, self.timings.vm_shutdown,
                          lambda task, end: self._stopped(vm))

    def _stopped(self, vm: Vm) -> None:
        vm.status = "stopped"
        vm.ha_state = "stopped"

    def _lrm_start(self, vm: Vm, now: float) -> None:
        def start(task: Task, end: float) -> None:
            self.check_lock(vm)
            self.qemu_power_on(vm, end)

        def started() -> None:
            vm.starting = False

        vm.starting = True  # its memory is taken from now on, so recoveries do not overbook
        self.run_task(vm.node, "qmstart", vm.vmid, now, QEMU_START, start, cleanup=started)

    def ha_migrate_request(self, vm: Vm, target: str, now: float, user: str) -> Task:
        """`hamigrate` ends at once; a few seconds later the LRM runs the real `qmigrate`."""
        def request(task: Task, end: float) -> None:
            self.at(end + CRM_DELAY, lambda t: self._crm_migrate(vm, target, t))

        task = self.run_task(vm.node, "hamigrate", vm.vmid, now, HA_CMD, request, user=user)
        task.write(f"Requesting HA migration for VM {vm.vmid} to node {target}")
        return task

    def ha_resource_migrate(self, sid: str, node: str, now: float) -> dict[str, Any]:
        """`POST /cluster/ha/resources/{sid}/migrate`: queue a CRM command, no task."""
        vm = self.vms.get(int(sid.removeprefix("vm:"))) if sid.removeprefix("vm:").isdigit() else None
        if vm is None or not vm.ha:
            raise PveError(f"resource '{sid}' is not HA managed")
        self.require_quorum(now)
        self.cluster_node(node)
        self.at(now + CRM_DELAY, lambda t: self._crm_migrate(vm, node, t))
        return {"sid": vm.sid, "requested-node": node}

    def _crm_migrate(self, vm: Vm, target: str, now: float) -> None:
        if (not self.quorate(now) or vm.lock or vm.node == target
                or not self.blades[target].online(now) or not self.blades[vm.node].online(now)):
            return  # the CRM logs and drops a migration it cannot do
        vm.ha_state = "migrate"
        task = self.qm_migrate(vm, target, now)
        task.on_end.append(lambda t: self._migrated(vm))

    @staticmethod
    def _migrated(vm: Vm) -> None:
        if vm.ha_state == "migrate":
            vm.ha_state = "started" if vm.running() else "stopped"

    # --- fencing and recovery ---------------------------------------------------------------------
    def ha_node_lost(self, node: str, now: float) -> None:
        services = [vm for vm in self.vms.values()
                    if vm.ha and vm.node == node and vm.ha_request == "started" and vm.ha_state != "freeze"]
        if not services:
            return
        self.fence_due[node] = now + self.timings.ha_fence_delay
        for vm in services:
            vm.ha_state = "fence"

    def ha_node_back(self, node: str, now: float) -> None:
        """Back before it was fenced (or after a reboot): its services start there again."""
        self.fence_due.pop(node, None)
        for vm in self.vms.values():
            if vm.ha and vm.node == node and vm.ha_state in ("fence", "freeze", "started") \
                    and vm.ha_request == "started" and not vm.running():
                vm.ha_state = "started"
                self._lrm_start(vm, now)

    def _ha_tick(self, now: float) -> None:
        if not self.quorate(now):
            return
        for node, due in list(self.fence_due.items()):
            if due <= now:
                del self.fence_due[node]
                for vm in self.vms.values():
                    if vm.ha and vm.node == node and vm.ha_state == "fence":
                        vm.ha_state = "recovery"
        for vm in sorted(self.vms.values(), key=lambda v: v.vmid):
            if vm.ha and vm.ha_state == "recovery":
                self._recover(vm, now)

    def _recover(self, vm: Vm, now: float) -> None:
        room = [n for n, b in self.blades.items()
                if b.online(now) and not b.shutting_down and self.mem_free(n) >= vm.memory]
        if not room:
            return  # stays in recovery until a blade has room
        target = max(room, key=lambda n: (self.mem_free(n), -list(self.blades).index(n)))
        vm.node = target
        vm.lock = None
        vm.ha_state = "started"
        self._lrm_start(vm, now)
