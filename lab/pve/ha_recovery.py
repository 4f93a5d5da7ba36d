"""ha-manager's fencing and recovery, and the LRM starting services.

A dead blade's services show `fence` for `timings.ha_fence_delay` (PVE waits for the
blade's watchdog to have fired), then `recovery` until a blade with room, that the HA rules
allow, takes them (ha_placement.py);
nothing moves while the cluster has no quorum. A blade cut off by a partition is lost the
same way: the CRM cannot reach it, and its own watchdog resets it (lab/pve/power.py).
"""

from __future__ import annotations

from lab.pve.ha_placement import HaPlacement
from lab.pve.objects import Vm
from lab.pve.qemu import QEMU_START
from lab.pve.tasks import Task


class HaRecovery(HaPlacement):
    def ha_node_state(self, node: str, now: float) -> str:
        if node in self.fence_due:
            return "fence"
        return "online" if self.blades[node].reachable(now) else "unknown"

    def _lrm_start(self, vm: Vm, now: float) -> None:
        def start(task: Task, end: float) -> None:
            self.check_lock(vm)
            self.qemu_power_on(vm, end, task)

        def started() -> None:
            vm.starting = False

        vm.starting = True  # its memory is taken from now on, so recoveries do not overbook
        self.run_task(vm.node, "qmstart", vm.vmid, now, QEMU_START, start, cleanup=started)

    def ha_node_lost(self, node: str, now: float) -> None:
        # its lrm_status file keeps what the LRM last wrote: `active` if it ran HA services (watchdog armed)
        self.lrm_was_active.setdefault(node, any(vm.ha and vm.node == node and vm.ha_request == "started"
                                                 for vm in self.vms.values()))
        services = [vm for vm in self.vms.values()
                    if vm.ha and vm.node == node and vm.ha_request == "started" and vm.ha_state != "freeze"]
        if not services:
            return
        # lost again before the fence (an isolated blade's watchdog reset): the first deadline holds
        self.fence_due.setdefault(node, now + self.timings.ha_fence_delay)
        for vm in services:
            vm.ha_state = "fence"

    def ha_node_back(self, node: str, now: float) -> None:
        """Back before it was fenced (or after a reboot): its services start there again."""
        self.fence_due.pop(node, None)
        self.lrm_was_active.pop(node, None)
        for vm in self.vms.values():
            if not (vm.ha and vm.node == node and vm.ha_request == "started"):
                continue
            if vm.running():
                if vm.ha_state == "fence":  # a partition healed before the watchdog fired
                    vm.ha_state = "started"
            elif vm.ha_state in ("fence", "freeze", "started"):
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
        target = self.ha_select_node(vm, now, stay=False)
        if target is None:
            return  # stays in recovery until a blade the rules allow has room
        vm.node = target
        vm.lock = None
        vm.ha_state = "started"
        self._lrm_start(vm, now)
