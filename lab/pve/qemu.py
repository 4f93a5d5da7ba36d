"""QEMU guests: list, status, power, config (async POST, sync PUT, pending), clone, resize."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lab.pve.base import PveState
from lab.pve.domain import ParamError, PveError
from lab.pve.objects import GIB, MIB, Disk, Vm, mac_for, uuid_for
from lab.pve.tasks import Task

# Changes to these need a reboot of a running VM (PVE's default hotplug is network,disk,usb)
COLD_KEYS = {"cores", "sockets", "memory", "cpu", "agent", "machine", "bios", "numa", "vcpus", "balloon"}
URLENCODED = re.compile(r"^[-%a-zA-Z0-9_.!~*'()]*$")
MEMORY = re.compile(r"^(current=)?\d+$")
SIZE = re.compile(r"^(\+)?(\d+(?:\.\d+)?)([KMGT])?$")
UNITS = {None: 1, "K": 1024, "M": MIB, "G": GIB, "T": 1024**4}
QEMU_START = 2.0  # lab seconds for QEMU to come up; the guest then boots (timings.vm_boot)


class QemuApi(PveState):
    # --- views ------------------------------------------------------------------------------------
    def _vm_stats(self, vm: Vm, now: float) -> dict[str, Any]:
        running = vm.running()
        out: dict[str, Any] = {
            "vmid": vm.vmid, "name": vm.name, "status": vm.status, "cpus": vm.cores,
            "maxmem": vm.memory, "mem": int(vm.memory * 0.55) if running else 0,
            "maxdisk": vm.maxdisk, "disk": 0, "cpu": 0.03 if running else 0,
            "uptime": int(now - vm.started_at) if running else 0,
            "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
        }
        if running:
            out["pid"] = 10_000 + vm.vmid
        if vm.template:
            out["template"] = 1
        if vm.lock:
            out["lock"] = vm.lock
        if "tags" in vm.config:
            out["tags"] = vm.config["tags"]
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
                        "balloon": vm.memory, "freemem": int(vm.memory * 0.4)})
        return out

    def _config_now(self, vm: Vm) -> dict[str, Any]:
        conf: dict[str, Any] = {"name": vm.name, "cores": vm.cores, "sockets": 1,
                                "memory": str(vm.memory // MIB)}
        conf.update({d.key: d.config_value() for d in vm.disks})
        if vm.agent:
            conf["agent"] = "1"
        conf.update(vm.config)
        if vm.template:
            conf["template"] = 1
        return conf

    def qemu_config(self, node: str, vmid: int, now: float, current: bool = False) -> dict[str, Any]:
        """`GET .../config`: pending values unless `current`, as PVE answers."""
        vm = self.vm_on(node, vmid, now)
        conf = self._config_now(vm)
        if not current:
            conf.update(vm.pending)
            for key in vm.pending_delete:
                conf.pop(key, None)
        if vm.lock:
            conf["lock"] = vm.lock
        conf["digest"] = _digest(self._config_now(vm))
        return conf

    def qemu_pending(self, node: str, vmid: int, now: float) -> list[dict[str, Any]]:
        vm = self.vm_on(node, vmid, now)
        conf = self._config_now(vm)
        out = []
        for key in sorted(set(conf) | set(vm.pending)):
            item: dict[str, Any] = {"key": key}
            if key in conf:
                item["value"] = conf[key]
            if key in vm.pending:
                item["pending"] = vm.pending[key]
            if key in vm.pending_delete:
                item["delete"] = 1
            out.append(item)
        return out

    # --- config changes -------------------------------------------------------------------------
    def qemu_config_update(self, node: str, vmid: int, params: dict[str, str], now: float,
                           is_async: bool, user: str = "root@pam") -> str | None:
        """`POST .../config` (async: a `qmconfig` task) and `PUT .../config` (sync: None)."""
        vm = self.vm_on(node, vmid, now)
        params = dict(params)
        digest = params.pop("digest", None)
        delete = [k for k in re.split(r"[,;\s]+", params.pop("delete", "")) if k]
        params.pop("background_delay", None)
        for flag in ("force", "skiplock"):
            params.pop(flag, None)
        if "sshkeys" in params and not URLENCODED.match(params["sshkeys"]):
            raise ParamError("sshkeys", f"invalid format - invalid urlencoded string: {params['sshkeys']}\n")
        memory = params.get("memory")
        if memory is not None and not MEMORY.match(memory):
            raise ParamError("memory", "invalid format - format error\n"
                                       f"current: type check ('integer') failed - got '{memory}'\n")
        if not params and not delete:
            raise PveError("no options specified")
        self.require_quorum(now)
        if digest and digest != _digest(self._config_now(vm)):
            raise PveError("detected modified configuration - file changed by other user? Try again.")

        def apply(task: Task | None = None, end: float = now) -> None:
            self.check_lock(vm)
            for key in delete:
                self._set(vm, key, None)
            for key, value in params.items():
                self._set(vm, key, value)
                if task is not None:
                    task.write(f"update VM {vmid}: -{key} {value}")

        if not is_async:
            apply()
            return None
        self.check_lock(vm)
        return self.run_task(node, "qmconfig", vmid, now, 1, apply, user=user).upid

    def _set(self, vm: Vm, key: str, value: str | None) -> None:
        """One config change; cold keys of a running VM wait in pending until it restarts."""
        if vm.running() and key in COLD_KEYS:
            if value is None:
                vm.pending_delete.add(key)
            else:
                vm.pending[key] = value
            return
        self._apply(vm, key, value)

    @staticmethod
    def _apply(vm: Vm, key: str, value: str | None) -> None:
        if key == "name":
            vm.name = value or f"VM{vm.vmid}"
        elif key == "cores":
            vm.cores = int(value or 1)
        elif key == "memory":
            mib = (value or "512").removeprefix("current=").split(",")[0]
            vm.memory = int(mib) * MIB
        elif key == "agent":
            vm.agent = (value or "0").removeprefix("enabled=").split(",")[0] == "1"
        elif value is None:
            vm.config.pop(key, None)
        else:
            vm.config[key] = value

    def _apply_pending(self, vm: Vm) -> None:
        for key in sorted(vm.pending_delete):
            self._apply(vm, key, None)
        for key, value in vm.pending.items():
            self._apply(vm, key, value)
        vm.pending.clear()
        vm.pending_delete.clear()

    # --- power ------------------------------------------------------------------------------------
    def qemu_power_on(self, vm: Vm, now: float) -> None:
        self._apply_pending(vm)
        vm.status = "running"
        vm.started_at = now
        vm.agent_ready_at = now + self.timings.vm_boot

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
            if vm.memory > self.mem_free(vm.node):
                task.write("kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory")
                raise PveError("start failed: QEMU exited with code 1")
            self.qemu_power_on(vm, end)

        def stop(task: Task, end: float) -> None:
            self.check_lock(vm)
            self.qemu_power_off(vm)

        def reboot(task: Task, end: float) -> None:
            self.check_lock(vm)
            self.qemu_power_on(vm, end)

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
            for disk in vm.disks:
                task.write(f"Removing image: 100% complete...done. ({disk.storage}:{disk.volume})")
            self.vms.pop(vmid, None)

        return self.run_task(node, "qmdestroy", vmid, now, 2, destroy, user=user).upid

    # --- clone and resize ---------------------------------------------------------------------------
    def qemu_clone(self, node: str, vmid: int, newid: int, now: float, name: str | None = None,
                   full: bool | None = None, target: str | None = None,
                   user: str = "root@pam") -> str:
        src = self.vm_on(node, vmid, now)
        self.require_quorum(now)
        if target is not None:
            self.blade(target)
        dest = target or node
        if newid in self.vms:
            raise PveError(f"unable to create VM {newid}: config file already exists")
        self.check_lock(src)
        linked = src.template and not full
        if not src.template and full is False:
            raise PveError("Linked clone feature is not supported for drive 'scsi0'")
        disks = [Disk(d.key, d.storage, f"{d.volume}/vm-{newid}-disk-{i}" if linked
                      else f"vm-{newid}-disk-{i}", d.size) for i, d in enumerate(src.disks)]
        config = {k: v for k, v in src.config.items() if k != "onboot"}
        if "net0" in config:
            config["net0"] = re.sub(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}", mac_for(newid), config["net0"])
        config.update(smbios1=f"uuid={uuid_for(newid)}", vmgenid=uuid_for(-newid))
        clone = Vm(vmid=newid, name=name or f"Copy-of-VM-{src.name}", node=dest, cores=src.cores,
                   memory=src.memory, disks=disks, agent=src.agent, lock="clone", config=config)
        self.vms[newid] = clone

        def done(task: Task, end: float) -> None:
            task.write(f"create {'linked' if linked else 'full'} clone of drive scsi0 "
                       f"({self.storage}:{src.disks[0].volume})")

        def unlock() -> None:
            clone.lock = None

        task = self.run_task(node, "qmclone", vmid, now, self.timings.clone, done, user=user,
                             cleanup=unlock)
        task.write(f"create {'linked' if linked else 'full'} clone of VM {vmid} as {newid}")
        return task.upid

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
            newsize = int(float(number) * UNITS[unit]) + (target.size if grow else 0)
            if newsize < target.size:
                raise PveError("shrinking disks is not supported")
            task.write(f"Image resized to {newsize} bytes")
            target.size = newsize

        return self.run_task(node, "resize", vmid, now, 1, resize, user=user).upid


def _digest(conf: dict[str, Any]) -> str:
    text = "\n".join(f"{k}: {conf[k]}" for k in sorted(conf))
    return hashlib.sha1(text.encode()).hexdigest()
