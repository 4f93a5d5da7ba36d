"""Cloud-init of a guest: `GET/PUT .../cloudinit`, `GET .../cloudinit/dump`, and the drive's life.

As in qemu-server: cloud-init options apply to the config at once, even on a running guest;
a change made while it runs is recorded (the config's `[special:cloudinit]` section) until
the drive is generated again, at the next start or by `PUT .../cloudinit`. The guest reads
the drive only when it boots, so a new address reaches it at its next boot, not before.
"""

from __future__ import annotations

from typing import Any

from lab.pve import cloudinit
from lab.pve.base import ROOT
from lab.pve.civalues import MASK
from lab.pve.domain import ParamError, PveError
from lab.pve.objects import Vm
from lab.pve.storage import StorageApi
from lab.pve.validate import split_list


def _set(value: Any) -> bool:
    """Perl truthiness of a config value ("" and "0" are false)."""
    return value is not None and str(value) not in ("", "0")


class CloudinitApi(StorageApi):
    def has_cloudinit_drive(self, vm: Vm) -> bool:
        return any(f"vm-{vm.vmid}-cloudinit" in str(v) for v in vm.config.values())

    def cloudinit_volume(self, vmid: int, storage: str) -> str:
        """The volume of a new cloud-init drive: qcow2 in a directory storage, as qemu-server names it."""
        if self.storage_config(storage).type == "dir":
            return f"{storage}:{vmid}/vm-{vmid}-cloudinit.qcow2"
        return f"{storage}:vm-{vmid}-cloudinit"

    def cloudinit_attach(self, vm: Vm, key: str, storage: str) -> str:
        """`KEY=STORAGE:cloudinit`: a new cloud-init drive, unless the guest has one already."""
        for other, value in vm.config.items():
            if other != key and f"vm-{vm.vmid}-cloudinit" in value:
                raise PveError(f"{key} - cloud-init drive is already attached at '{other}'")
        return f"{self.cloudinit_volume(vm.vmid, storage)},media=cdrom"

    def cloudinit_generate(self, vm: Vm) -> None:
        """apply_cloudinit_config: write the drive from the current config, drop the record."""
        if self.has_cloudinit_drive(vm):
            vm.cloudinit_drive = vm.cloudinit_conf()
        vm.cloudinit_record.clear()

    def cloudinit_record_change(self, vm: Vm, key: str, new: str | None) -> None:
        """A change of `key` on the running guest, recorded against what its drive holds."""
        if not vm.running() or not cloudinit.recorded(key):
            return
        old = vm.cloudinit_conf().get(key)
        record = vm.cloudinit_record
        added = set(split_list(record.pop("added", "")))
        if new is not None:
            if key in record:
                if new == record[key]:  # back to the value the drive has
                    del record[key]
                    added.discard(key)
            elif key not in added:
                if old is None:
                    added.add(key)
                else:
                    record[key] = old
        elif old is not None and key not in record:
            if key in added:
                added.discard(key)
            else:
                record[key] = old
        if added:
            record["added"] = ",".join(sorted(added))

    def qemu_cloudinit_pending(self, node: str, vmid: int, now: float) -> list[dict[str, Any]]:
        """`GET .../cloudinit`: each set option with the value its drive has and any pending one."""
        vm = self.vm_on(node, vmid, now)
        conf = vm.cloudinit_conf()
        record = dict(vm.cloudinit_record)
        for view in (conf, record):
            if "cipassword" in view:
                view["cipassword"] = MASK
        added = record.pop("added", "")
        out: list[dict[str, Any]] = [{"key": k, "pending": conf.get(k)} for k in split_list(added)]
        for opt in cloudinit.OPTIONS:
            if not _set(conf.get(opt)) or opt in added:  # PVE matches `added` as a substring
                continue
            if _set(record.get(opt)):
                out.append({"key": opt, "value": record[opt], "pending": conf[opt]})
            else:
                out.append({"key": opt, "value": conf[opt]})
        out += [{"key": k, "delete": 1} for k in sorted(record) if not _set(conf.get(k))]
        return out

    def qemu_cloudinit_update(self, node: str, vmid: int, now: float) -> None:
        """`PUT .../cloudinit`: regenerate the drive; a running guest sees it at its next boot."""
        vm = self.vm_on(node, vmid, now)
        self.check_lock(vm)
        if self.has_cloudinit_drive(vm):
            self.cloudinit_generate(vm)

    def qemu_cloudinit_dump(self, node: str, vmid: int, kind: str, now: float, user: str = ROOT) -> str:
        """`GET .../cloudinit/dump`: the password hash only for those who may change cloud-init."""
        vm = self.vm_on(node, vmid, now)
        if kind not in ("user", "network", "meta"):
            raise ParamError("type", f"value '{kind}' does not have a value in the enumeration "
                                     "'user, network, meta'")
        privileges = self.privileges.get(user)
        mask = privileges is not None and "VM.Config.Cloudinit" not in privileges
        return cloudinit.dump(vm.cloudinit_conf(), vmid, kind, mask)
