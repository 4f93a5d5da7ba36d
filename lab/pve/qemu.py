"""QEMU guests: list, status, power, destroy, clone and resize (config is in config.py)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from lab.pve.config import ConfigApi
from lab.pve.domain import ParamError, PveError
from lab.pve.objects import GIB, MIB, Vm
from lab.pve.qemu_stats import running_stats
from lab.pve.tasks import Task

SIZE = re.compile(r"^(\+)?(\d+(?:\.\d+)?)([KMGT])?$")
UNITS = {None: 1, "K": 1024, "M": MIB, "G": GIB, "T": 1024**4}
MAX_RBD_SIZE = 2**64 - 1  # librbd keeps an image's size in a uint64
QEMU_START = 2.0  # lab seconds for QEMU to come up; the guest then boots (timings.vm_boot)


class QemuApi(ConfigApi):
    # --- views ------------------------------------------------------------------------------------
    def _vm_stats(self, vm: Vm, now: float) -> dict[str, Any]:
        out = {"vmid": vm.vmid, "name": vm.name, "status": vm.status, "cpus": vm.cores, **vm.usage(now)}
        if vm.running():
            out["pid"] = 10_000 + vm.vmid
        if vm.template:
            out["template"] = 1
        if balloon := int(vm.config.get("balloon") or 0):  # a balloon target: vmstatus adds these
            out["balloon_min"] = balloon * MIB
            out["shares"] = int(vm.config.get("shares") or 1000)
        return out

    def qemu_list(self, node: str, now: float, full: bool = False) -> list[dict[str, Any]]:
        self.online_blade(node, now)
        return [self._vm_stats(vm, now) for vm in sorted(self.vms.values(), key=lambda v: v.vmid)
                if vm.node == node]

    def qemu_status_current(self, node: str, vmid: int, now: float) -> dict[str, Any]:
        vm = self.vm_on(node, vmid, now)
        out = self._vm_stats(vm, now)
        out["qmpstatus"] = vm.status
        out["ha"] = {"managed": 1, "state": vm.ha_state} if vm.ha else {"managed": 0}
        if vm.agent:
            out["agent"] = 1
        if vm.running():
            out.update({"running-machine": "pc-i440fx-10.0+pve0", "running-qemu": "10.0.2",
                        "balloon": vm.memory, "freemem": int(vm.memory * 0.4), **running_stats(vm, now)})
            # the totals are the sums of the per-device counters, as vmstatus adds them up
            out["netin"] = sum(n["netin"] for n in out["nics"].values())
            out["netout"] = sum(n["netout"] for n in out["nics"].values())
            out["diskread"] = sum(d["rd_bytes"] for d in out["blockstat"].values())
            out["diskwrite"] = sum(d["wr_bytes"] for d in out["blockstat"].values())
        return out

    def qemu_power_on(self, vm: Vm, now: float, task: Task | None = None) -> None:
        """qemu-server's vm_start: pending changes apply, the cloud-init drive is written from the
        config, then QEMU starts if the blade can hold it and the guest boots from that drive."""
        if vm.template:
            raise PveError("you can't start a vm if it's a template")
        room = self.mem_free(vm.node) + (vm.memory if vm.running() or vm.starting else 0)
        self._apply_pending(vm)
        if self.has_cloudinit_drive(vm) and task is not None:
            task.write("generating cloud-init ISO")
        self.cloudinit_generate(vm)
        cores = self.blades[vm.node].cores
        if vm.cores > cores:
            raise PveError(f"MAX {cores} vcpus allowed per VM on this node")
        if vm.memory > room:
            if task is not None:
                task.write("kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory")
            raise PveError("start failed: QEMU exited with code 1")
        if task is not None:
            for warning in _netdev_warnings(vm.config):
                task.warn(warning)
        vm.status = "running"
        vm.started_at = now
        vm.agent_ready_at = now + self.timings.vm_boot
        vm.guest_boot()

    def qemu_power_off(self, vm: Vm) -> None:
        vm.status = "stopped"

    def qemu_status_command(self, node: str, vmid: int, command: str, now: float,
                            user: str = "root@pam", ha_request: bool = True) -> str:
        """`POST .../status/{start,stop,shutdown,reboot}`; HA-managed VMs go through ha-manager."""
        vm = self.vm_on(node, vmid, now)
        self.require_quorum(now)
        if command == "reboot" and not vm.running():
            raise PveError(f"VM {vmid} not running")
        if vm.ha and ha_request and command in ("start", "stop", "shutdown"):
            return self.ha_request_state(vm, "started" if command == "start" else "stopped",
                                         now, user)
        return self._qm_power(vm, command, now, user).upid

    def _qm_power(self, vm: Vm, command: str, now: float, user: str = "root@pam") -> Task:
        """The qm* worker task that starts or stops QEMU on the VM's blade."""
        vmid = vm.vmid

        def start(task: Task, end: float) -> None:
            self.check_lock(vm)
            if vm.running():
                raise PveError(f"VM {vmid} already running")
            self.qemu_power_on(vm, end, task)

        def stop(task: Task, end: float) -> None:
            self.check_lock(vm)
            self.qemu_power_off(vm)

        def reboot(task: Task, end: float) -> None:
            self.check_lock(vm)
            self.qemu_power_off(vm)  # a reboot is a shutdown and a fresh start (pending changes apply)
            self.qemu_power_on(vm, end, task)

        kinds = {"start": ("qmstart", QEMU_START, start), "stop": ("qmstop", 1, stop),
                 "shutdown": ("qmshutdown", self.timings.vm_shutdown, stop),
                 "reboot": ("qmreboot", self.timings.vm_shutdown + QEMU_START, reboot)}
        kind, duration, work = kinds[command]
        return self.run_task(vm.node, kind, vmid, now, duration, work, user=user)

    def qemu_destroy(self, node: str, vmid: int, now: float, purge: bool = False,
                     user: str = "root@pam") -> str:
        """`DELETE .../qemu/{vmid}`: a stopped, unlocked VM; HA-managed ones only with `purge`."""
        vm = self.vm_on(node, vmid, now)
        self.require_quorum(now)
        if vm.ha and not purge:
            raise PveError(f"unable to remove VM {vmid} - used in HA resources and purge parameter not set.")
        if vm.running():
            raise PveError(f"VM {vmid} is running - destroy failed")
        self.check_lock(vm)
        vm.lock = "destroyed"

        def destroy(task: Task, end: float) -> None:
            for disk in vm.disks:  # a template's base image may still back linked clones
                volid = f"{disk.storage}:{disk.volume}"
                if any(f"{d.storage}:{d.volume}".startswith(f"{volid}/")
                       for other in self.vms.values() for d in other.disks):
                    raise PveError(f"base volume '{volid}' is still in use by linked cloned")
            for disk in vm.disks:
                task.write(f"Removing image: 100% complete...done. ({disk.storage}:{disk.volume})")
            self.vms.pop(vmid, None)

        def kept() -> None:
            if vmid in self.vms:  # the destroy failed: the guest stays, unlocked
                vm.lock = None

        return self.run_task(node, "qmdestroy", vmid, now, 2, destroy, user=user, cleanup=kept).upid

    # --- resize -----------------------------------------------------------------------------------
    def qemu_resize(self, node: str, vmid: int, disk: str, size: str, now: float,
                    user: str = "root@pam") -> str:
        vm = self.vm_on(node, vmid, now)
        match = SIZE.match(size)
        if not match:
            raise ParamError("size", "value does not match the regex pattern")
        self.require_quorum(now)

        def resize(task: Task, end: float) -> None:
            self.check_lock(vm)
            target = next((d for d in vm.disks if d.key == disk), None)
            if target is None:
                raise PveError(f"disk '{disk}' does not exist")
            grow, number, unit = match.groups()
            newsize = int(Decimal(number) * UNITS[unit]) + (target.size if grow else 0)
            if newsize < target.size:
                raise PveError("shrinking disks is not supported")
            if newsize > MAX_RBD_SIZE:
                raise PveError(f"rbd resize '{target.volume}' error: rbd: resize error: (27) File too large")
            task.write("Resizing image: 100% complete...done.")
            target.size = newsize

        return self.run_task(node, "resize", vmid, now, 1, resize, user=user).upid


def _netdev_warnings(config: dict[str, str]) -> list[str]:
    """The task warnings qemu-server logs at start for an MTU it cannot apply (log_warn)."""
    warnings = []
    for key in sorted(k for k in config if re.fullmatch(r"net\d+", k)):
        opts = dict(o.partition("=")[::2] for o in config[key].split(","))
        mtu = opts.get("mtu")
        virtio = "virtio" in opts or opts.get("model") == "virtio"
        if mtu is None or (virtio and "bridge" in opts):
            continue
        why = "no bridge configured" if "bridge" not in opts else "not using VirtIO"
        warnings.append(f"netdev {key}: ignoring MTU '{mtu}', {why}")
    return warnings
