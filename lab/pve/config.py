"""Guest config: `GET .../config` (pending values unless `current`), async `POST` (a
`qmconfig` task), sync `PUT`, and `GET .../pending`."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lab.pve.civalues import MASK, hash_password, validate_ssh_public_keys
from lab.pve.cloudinit import is_windows
from lab.pve.cloudinit_api import CloudinitApi
from lab.pve.domain import ParamError, PveError
from lab.pve.objects import MIB, Vm
from lab.pve.tasks import Task
from lab.pve.validate import split_list

# Changes to these need a reboot of a running VM (PVE's default hotplug is network,disk,usb)
COLD_KEYS = {"cores", "sockets", "memory", "cpu", "agent", "machine", "bios", "numa", "vcpus", "balloon"}
MEMORY = re.compile(r"^(current=)?\d+$")
DRIVE = re.compile(r"(ide|sata|scsi|virtio)\d+")  # a disk or CD-ROM key


class ConfigApi(CloudinitApi):
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
        digest = _digest(conf)  # of the current config, whatever is shown
        if not current:
            conf.update(vm.pending)
            for key in vm.pending_delete:
                conf.pop(key, None)
        if vm.lock:
            conf["lock"] = vm.lock
        if conf.get("cipassword"):
            conf["cipassword"] = MASK
        conf["digest"] = digest
        return conf

    def qemu_pending(self, node: str, vmid: int, now: float) -> list[dict[str, Any]]:
        vm = self.vm_on(node, vmid, now)
        conf = self._config_now(vm)
        if "cipassword" in conf:
            conf["cipassword"] = MASK
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
        delete = split_list(params.pop("delete", ""))
        params.pop("background_delay", None)
        params.pop("force", None)
        skiplock = params.pop("skiplock", "0") in ("1", "True")  # a form 1, or JSON true
        if skiplock and user != "root@pam":  # not even root's API tokens
            raise ParamError("skiplock", "Only root may use this option.")
        if "sshkeys" in params:
            validate_ssh_public_keys(params["sshkeys"])
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
            if not skiplock:
                self.check_lock(vm)
            for key in delete:
                self._set(vm, key, None)
            for key, value in params.items():
                self._set(vm, key, value)
                if task is not None:
                    task.write(f"update VM {vmid}: -{key} {'<hidden>' if key == 'cipassword' else value}")

        if not is_async:
            apply()
            return None
        if not skiplock:
            self.check_lock(vm)
        return self.run_task(node, "qmconfig", vmid, now, 1, apply, user=user).upid

    def _set(self, vm: Vm, key: str, value: str | None) -> None:
        """One config change; cold keys of a running VM wait in pending until it restarts.

        `cipassword` is stored as a crypt hash; cloud-init keys apply at once, and a running
        guest's change is recorded as not yet on its cloud-init drive.
        """
        if value is not None and DRIVE.fullmatch(key) and value.split(",")[0].endswith(":cloudinit"):
            value = self.cloudinit_attach(vm, key, value.split(":")[0])
        elif value is None and self.has_cloudinit_drive(vm) and "-cloudinit" in vm.config.get(key, ""):
            vm.cloudinit_record.clear()  # the drive is freed, and with it the record of its contents
        if vm.running() and key in COLD_KEYS:
            if value is None:
                vm.pending_delete.add(key)
            else:
                vm.pending[key] = value
            return
        if key == "cipassword" and value is not None:  # written straight to the config, unrecorded
            if not is_windows(vm.config.get("ostype")):  # cloudbase-init wants it in clear
                value = hash_password(value, f"{vm.vmid}:{self.now}:{len(self.tasks)}")
        else:
            self.cloudinit_record_change(vm, key, value)
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


def _digest(conf: dict[str, Any]) -> str:
    text = "\n".join(f"{k}: {conf[k]}" for k in sorted(conf))
    return hashlib.sha1(text.encode()).hexdigest()
