"""Blade power: `POST /nodes/{node}/status` (reboot, shutdown) and the faults of the PVE
side: power off/on, quorum loss and network partitions, a held config lock.

A partition (`lose_quorum(now, blade)`) cuts one blade off, as PVE HA sees it:
- at once, the quorate rest sees the blade offline (595 "Connection timed out" for requests
  proxied to it) and, if its LRM is active (HA services started there), the CRM marks them
  `fence`; they move to `recovery` after `timings.ha_fence_delay` (120 s: the LRM's cluster
  lock expires, which PVE counts on to know the watchdog has fired);
- after `timings.ha_watchdog_timeout` (60 s, watchdog-mux's client timeout) the isolated
  blade's LRM, which lost its lock without quorum, stops feeding the watchdog: the blade
  resets, its guests die, and it boots again still cut off, where pve-guests and the LRM
  wait for quorum. An idle LRM (no HA services) never arms the watchdog: no reset, its
  guests keep running;
- `regain_quorum(now, blade)` rejoins it: a blade that reset starts its guests once it has
  booted (`timings.blade_boot` after the reset, as after power-on).
"""

from __future__ import annotations

from lab.pve.base import PveState
from lab.pve.domain import ParamError, PveError


class PowerApi(PveState):
    def node_status_command(self, node: str, command: str, now: float) -> None:
        """`POST /nodes/{node}/status`: a clean reboot or shutdown of the blade.

        Guests stop first; no quorum is needed (nothing is written to /etc/pve). HA follows
        PVE's default shutdown_policy `conditional`: on a reboot HA services are frozen and
        started again on the same blade when it is back; on a shutdown they stay as they
        are, so HA recovers them on other blades after fencing.
        """
        blade = self.online_blade(node, now)
        if command not in ("reboot", "shutdown"):
            raise ParamError("command", f"value '{command}' does not have a value in the enumeration "
                                        "'reboot, shutdown'")
        if blade.shutting_down:
            return
        blade.shutting_down = True
        task = self.run_task(node, "stopall", "", now, 0.5)
        for vm in self.vms.values():
            if vm.node == node and vm.running():
                task.write(f"Stopping VM {vm.vmid} (timeout = 180 seconds)")
                if vm.ha and command == "reboot":
                    vm.ha_state = "freeze"
        seq = blade.boot_seq

        def down(t: float) -> None:
            if blade.boot_seq != seq:
                return
            self._halt(node, t)
            if command == "reboot":
                self.power_on(node, t)

        self.at(now + self.timings.vm_shutdown, down)

    def power_off(self, blade_name: str, now: float) -> None:
        """Fault: pull the blade's power cable."""
        if self.blade(blade_name).powered:
            self._halt(blade_name, now)

    def power_on(self, blade_name: str, now: float) -> None:
        """Fault: power the blade on; it is online after `timings.blade_boot`."""
        blade = self.blade(blade_name)
        if blade.powered:
            return
        blade.powered = True
        blade.boot_done_at = now + self.timings.blade_boot
        seq = blade.boot_seq
        self.at(blade.boot_done_at, lambda t: self._booted(blade_name, seq, t))

    def _halt(self, node: str, now: float) -> None:
        """The blade is down: its guests stop where they are, its running tasks die with it."""
        blade = self.blades[node]
        blade.powered = False
        blade.shutting_down = False
        blade.awaiting_quorum = False
        blade.down_since = now
        blade.boot_seq += 1
        self.links.cancel(node, now)
        for vm in self.vms.values():
            if vm.migrating_to == node:
                vm.migrating_to = None  # its migration task fails when due
            if vm.node != node:
                continue
            vm.status = "stopped"
            vm.migrating_to = None
            if vm.lock == "migrate":
                vm.lock = None
        self.ha_node_lost(node, now)

    def _booted(self, node: str, seq: int, now: float) -> None:
        blade = self.blades[node]
        if blade.boot_seq != seq or not blade.powered:
            return
        blade.booted_at = now
        for task in self.task_table.on_node(node):
            if task.status == "running":  # as PVE finds a dead worker of a previous boot
                task.finish(now, "unexpected status")
        if blade.isolated:
            blade.awaiting_quorum = True
            return
        self._start_guests(node, now)

    def _start_guests(self, node: str, now: float) -> None:
        """A booted blade in the quorate cluster: pve-guests starts onboot guests, the LRM its services."""
        startall = [vm for vm in self.vms.values() if vm.node == node and not vm.ha
                    and vm.config.get("onboot") == "1" and not vm.running()]
        if startall:
            task = self.run_task(node, "startall", "", now, 1)
            for vm in startall:
                task.write(f"Starting VM {vm.vmid}")
                try:
                    self.qemu_power_on(vm, now)
                except PveError as exc:
                    task.write(f"Starting VM {vm.vmid} failed: {exc.message}")
        self.ha_node_back(node, now)

    def lose_quorum(self, now: float, node: str | None = None) -> None:
        """Fault: corosync loses quorum. Without `node`, cluster-wide: reads work, writes fail,
        HA stands still. With `node`, that blade is cut off (see the module docstring)."""
        if node is None:
            self.quorum_lost = True
            return
        blade = self.blade(node)
        if blade.isolated:
            return
        was_reachable = blade.reachable(now)
        blade.isolated = True
        if not was_reachable:
            return  # off or booting: it boots into isolation (`_booted`)
        blade.down_since = now
        self.ha_node_lost(node, now)
        if node in self.fence_due:  # the CRM fences it: its LRM was active, so its watchdog is armed
            # PVE's lock timeout outlasts the watchdog, so services never run twice; keep that
            # order with any scenario timings
            watchdog = now + self.timings.ha_watchdog_timeout
            self.fence_due[node] = max(self.fence_due[node], watchdog + 1)
            seq = blade.boot_seq
            self.at(watchdog, lambda t: self._self_fence(node, seq, t))

    def _self_fence(self, node: str, seq: int, now: float) -> None:
        blade = self.blades[node]
        if blade.boot_seq != seq or not blade.isolated:
            return  # rejoined in time, or lost power meanwhile
        last_seen = blade.down_since  # the quorate side last heard of it when it was cut off
        self._halt(node, now)
        blade.down_since = last_seen
        self.power_on(node, now)

    def regain_quorum(self, now: float, node: str | None = None) -> None:
        """Undo `lose_quorum`; without `node`, also rejoin every isolated blade."""
        if node is None:
            self.quorum_lost = False
        for name in [node] if node is not None else list(self.blades):
            blade = self.blade(name)
            if not blade.isolated:
                continue
            blade.isolated = False
            if blade.awaiting_quorum:
                blade.awaiting_quorum = False
                self._start_guests(name, now)
            elif blade.online(now):
                self.ha_node_back(name, now)  # back before its watchdog fired: services carry on

    def hold_lock(self, vmid: int, lock: str = "backup") -> None:
        """Fault: hold a VM's config lock, as a running backup does."""
        vm = self.vms.get(vmid)
        if vm is None:
            raise PveError(f"VM {vmid} does not exist")
        vm.lock = lock

    def release_lock(self, vmid: int) -> None:
        vm = self.vms.get(vmid)
        if vm is not None:
            vm.lock = None
