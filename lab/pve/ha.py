"""ha-manager: HA resources, `/cluster/ha/status/current`, and requests through the CRM
(start, stop, migrate). Fencing and recovery are in ha_recovery.py.

The CRM acts a few seconds after a request (its loop runs every 10 s on PVE), and only
while the cluster is quorate.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from lab.pve.base import ROOT
from lab.pve.domain import PveError
from lab.pve.ha_recovery import HaRecovery
from lab.pve.objects import Vm
from lab.pve.tasks import Task

CRM_DELAY = 5.0  # lab seconds between a request and the CRM acting on it
HA_CMD = 1.0  # lab seconds a hastart/hastop/hamigrate task runs


def _vmid(sid: str) -> int | None:
    """The VMID of a service id `vm:NNN` (or `NNN`); None when it is none (ASCII digits only)."""
    vmid = sid.removeprefix("vm:")
    return int(vmid) if vmid.isascii() and vmid.isdigit() else None


class HaApi(HaRecovery):
    def _sid_vm(self, sid: str) -> Vm | None:
        vmid = _vmid(sid)
        return None if vmid is None else self.vms.get(vmid)

    def _service(self, sid: str) -> Vm:
        vm = self._sid_vm(sid)
        if vm is None or not vm.ha:
            raise PveError(f"no such resource '{sid}'")
        return vm

    # --- resources ------------------------------------------------------------------------------
    @staticmethod
    def _resource_entry(vm: Vm) -> dict[str, Any]:
        return {"sid": vm.sid, "type": "vm", "state": vm.ha_request, "max_restart": 1,
                "max_relocate": 1, "failback": int(vm.ha_failback),
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
        vmid = _vmid(sid)
        if vmid is None:
            raise PveError(f"unable to parse service id '{sid}'")
        vm = self.vms.get(vmid)
        if vm is None:
            raise PveError(f"resource 'vm:{vmid}' does not exist in cluster")
        if vm.ha:
            raise PveError(f"resource ID '{vm.sid}' already defined")
        vm.ha = True
        vm.ha_request = "started" if state in ("started", "enabled") else state
        vm.ha_state = "started" if vm.running() else "stopped"
        self.at(now + CRM_DELAY, lambda t: self._crm_apply(vm, t))

    def ha_resource_update(self, sid: str, now: float, state: str | None = None,
                           failback: bool | None = None) -> None:
        self.require_quorum(now)
        vm = self._service(sid)
        if failback is not None:
            vm.ha_failback = failback
        if state is not None:
            vm.ha_request = "started" if state == "enabled" else state
            self.at(now + CRM_DELAY, lambda t: self._crm_apply(vm, t))

    def ha_resource_delete(self, sid: str, now: float) -> None:
        self.require_quorum(now)
        vm = self._sid_vm(sid)
        if vm is None or not vm.ha:
            raise PveError(f"cannot delete service 'vm:{sid.removeprefix('vm:')}', not HA managed!")
        vm.ha = False

    # --- status ---------------------------------------------------------------------------------
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
            seen = stamp if blade.reachable(now) else int(blade.down_since)
            state = "active" if blade.reachable(now) else "old timestamp - dead?"
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
                        "max_relocate": 1, "failback": int(vm.ha_failback)})
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
        if not vm.ha or not self.quorate(now) or not self.blades[vm.node].reachable(now):
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

    def ha_migrate_request(self, vm: Vm, target: str, now: float, user: str) -> Task:
        """`hamigrate` runs `ha-manager migrate`, which queues the CRM command and ends; a few
        seconds later the LRM runs the real `qmigrate`. The CLI fails when a negative partner
        sits on the target (the CRM drops that command) and names positive partners coming along."""
        def request(task: Task, end: float) -> None:
            self.at(end + CRM_DELAY, lambda t: self._crm_migrate(vm, target, t))
            dependent, blocking = self.ha_motion_info(vm.sid, end)
            if target in blocking:
                task.write(f"cannot migrate resource '{vm.sid}' to node '{target}':")
                task.write("")
                for blocker in blocking[target]:
                    task.write(f"- resource '{blocker['sid']}' on target node '{target}' in negative "
                               f"affinity with resource '{vm.sid}'")
                raise PveError(f"command 'ha-manager migrate {vm.sid} {target}' failed: exit code 255")
            for sid in dependent:
                task.write(f"also migrate resource '{sid}' in positive affinity with resource '{vm.sid}' "
                           f"to target node '{target}'")

        task = self.run_task(vm.node, "hamigrate", vm.vmid, now, HA_CMD, request, user=user)
        task.write(f"Requesting HA migration for VM {vm.vmid} to node {target}")
        return task

    def ha_resource_migrate(self, sid: str, node: str, now: float) -> dict[str, Any]:
        """`POST /cluster/ha/resources/{sid}/migrate`: queue a CRM command, no task."""
        vm = self._sid_vm(sid)
        if vm is None or not vm.ha:
            raise PveError(f"resource '{sid}' is not HA managed")
        self.require_quorum(now)
        self.cluster_node(node)
        self.at(now + CRM_DELAY, lambda t: self._crm_migrate(vm, node, t))
        out: dict[str, Any] = {"sid": vm.sid, "requested-node": node}
        dependent, blocking = self.ha_motion_info(vm.sid, now)
        if dependent:
            out["comigrated-resources"] = dependent
        if node in blocking:
            out["blocking-resources"] = blocking[node]
        return out

    def _crm_migrate(self, vm: Vm, target: str, now: float, partners: bool = True) -> None:
        """The CRM's `migrate` command (queue_resource_motion): dropped, with an error in its
        log, when a negative partner is on the target; positive partners come along."""
        if (not self.quorate(now) or vm.lock or vm.node == target
                or not self.blades[target].reachable(now) or not self.blades[vm.node].reachable(now)):
            return  # the CRM logs and drops a migration it cannot do
        dependent, blocking = self.ha_motion_info(vm.sid, now)
        if target in blocking:
            return
        vm.ha_state = "migrate"
        task = self.qm_migrate(vm, target, now)
        task.on_end.append(lambda t: self._migrated(vm))
        for sid in dependent if partners else []:
            partner = self.ha_managed(sid)
            if partner is not None and target not in (partner.node, partner.migrating_to):
                self._crm_migrate(partner, target, now, partners=False)

    def _ha_tick(self, now: float) -> None:
        super()._ha_tick(now)
        if self.ha_rules and self.quorate(now):
            self._enforce_rules(now)

    def _enforce_rules(self, now: float) -> None:
        """The CRM's round for started services: one the rules no longer allow where it runs
        (or, with failback, off its preferred nodes) migrates to the node they choose."""
        for vm in sorted(self.vms.values(), key=lambda v: v.vmid):
            if not (vm.ha and vm.running() and vm.ha_state == "started" and vm.ha_request == "started"
                    and vm.lock is None and vm.migrating_to is None and not self.blades[vm.node].shutting_down
                    and any(vm.sid in rule["resources"] for rule in self.ha_rules.values())):
                continue
            target = self.ha_select_node(vm, now, stay=True)
            if target is not None and target != vm.node:
                self._crm_migrate(vm, target, now, partners=False)

    @staticmethod
    def _migrated(vm: Vm) -> None:
        if vm.ha_state == "migrate":
            vm.ha_state = "started" if vm.running() else "stopped"
