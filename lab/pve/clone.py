"""Making guests: `POST .../clone`, `POST /nodes/{node}/qemu` (create) and `POST .../template`.

As qemu-server does it: the checks that can fail fail before the worker starts (500 with
PVE's message, or a 400 for a parameter); the new guest exists at once with a `clone` or
`create` lock; a clone's config stays on the source node until its disks are done and is
moved to `target` at the end; a clone gets its own cloud-init drive `vm-<newid>-cloudinit`.
"""

from __future__ import annotations

import re

from lab.pve.base import ROOT
from lab.pve.civalues import validate_ssh_public_keys
from lab.pve.config import DRIVE, ConfigApi
from lab.pve.domain import PveError
from lab.pve.objects import GIB, MIB, Disk, Vm, mac_for, uuid_for
from lab.pve.tasks import Task

_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
_NET_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "vmxnet3")
_CLOUDINIT = re.compile(r"vm-\d+-cloudinit")
_NEW_DISK = re.compile(r"(?:([^/:\s]+):)?(\d+(?:\.\d+)?)")  # qemu-server's NEW_DISK_RE: [STORAGE:]SIZE


def _true(value: str) -> bool:
    """A PVE boolean as a form or JSON body gives it."""
    return value.lower() in ("1", "true", "on", "yes")


class CloneApi(ConfigApi):
    def qemu_clone(self, node: str, vmid: int, newid: int, now: float, name: str | None = None,
                   full: bool | None = None, target: str | None = None, storage: str | None = None,
                   user: str = ROOT, description: str | None = None, snapname: str | None = None,
                   disk_format: str | None = None) -> str:
        src = self.vm_on(node, vmid, now)
        target = None if target in (node, "localhost") else target
        if target is not None:
            self.cluster_node(target)
        if storage is not None:
            store = self.storage_for_images(storage)
            if target is not None and not store.shared:
                raise PveError(f"can't clone to non-shared storage '{storage}'")
        self.require_quorum(now)
        self.check_lock(src)
        if snapname:  # the lab's guests have no snapshots
            raise PveError(f"snapshot '{snapname}' does not exist")
        full = not src.template if full is None else full
        for given, param in ((storage, "storage"), (disk_format, "format")):
            if given is not None and not full:
                raise PveError(f"parameter '{param}' not allowed for linked clones")
        if target is not None and any(not self.storage_config(d.storage).shared for d in src.disks):
            raise PveError(f"can't clone VM to node '{target}' (VM uses local storage)")
        if newid in self.vms:
            raise PveError(f"unable to create VM {newid}: config file already exists")
        for disk in [] if full else src.disks:
            if not disk.volume.startswith("base-"):  # RBD clones only from a base image
                raise PveError(f"Linked clone feature is not supported for "
                               f"'{disk.storage}:{disk.volume}' ({disk.key})")
        clone = self._clone_of(src, newid, name, full, storage)
        if description:
            clone.config["description"] = description
        self.vms[newid] = clone
        kind = "full" if full else "linked"

        def copy(task: Task, end: float) -> None:
            # clone_disk's lines, drive by drive in key order; a cloud-init drive is always new
            drives = {d.key: (kind, f"{d.storage}:{d.volume}", f"{n.storage}:{n.volume}")
                      for d, n in zip(src.disks, clone.disks, strict=True)}
            drives.update({k: ("full", src.config[k].split(",")[0], v.split(",")[0])
                           for k, v in clone.config.items() if _CLOUDINIT.search(v)})
            for key, (how, old, new) in sorted(drives.items()):
                task.write(f"create {how} clone of drive {key} ({old})")
                if how == "full":
                    task.write(f"allocated target volume '{new}'")
            if src.pending or src.pending_delete:
                keys = ",".join(sorted({*src.pending, *src.pending_delete}))
                task.write(f"found pending changes for '{keys}', discarding for clone")
            clone.lock = None
            if target is not None:
                clone.node = target  # the config file is renamed into the target's directory

        def failed() -> None:
            if clone.lock == "clone":  # the worker died: PVE frees the new volumes and the config
                self.vms.pop(newid, None)

        task = self.run_task(node, "qmclone", vmid, now, self.timings.clone, copy, user=user,
                             cleanup=failed, interrupted="clone failed: interrupted by signal")
        task.write(f"creating a clone of VM {vmid} with ID {newid}")
        return task.upid

    def _clone_of(self, src: Vm, newid: int, name: str | None, full: bool, storage: str | None) -> Vm:
        """The new guest's config: everything copied but MACs, UUIDs and disks."""
        disks = [Disk(d.key, storage or d.storage, f"vm-{newid}-disk-{i}" if full
                      else f"{d.volume}/vm-{newid}-disk-{i}", d.size) for i, d in enumerate(src.disks)]
        config = {k: v for k, v in src.config.items() if k != "onboot"}
        for key, value in config.items():
            if re.fullmatch(r"net\d+", key):
                config[key] = _MAC.sub(mac_for(newid), value)
            elif _CLOUDINIT.search(value):  # cloud-init drives are always created anew
                volume, _, opts = value.partition(",")
                volume = self.cloudinit_volume(newid, storage or volume.split(":")[0])
                config[key] = volume + (f",{opts}" if opts else "")
        config.update(smbios1=f"uuid={uuid_for(newid)}", vmgenid=uuid_for(-newid))
        return Vm(vmid=newid, name=name or f"Copy-of-VM-{src.name}", node=src.node, cores=src.cores,
                  memory=src.memory, disks=disks, agent=src.agent, lock="clone", config=config)

    # --- create -----------------------------------------------------------------------------------
    def qemu_create(self, node: str, vmid: int, params: dict[str, str], now: float,
                    user: str = ROOT) -> str:
        """`POST /nodes/{node}/qemu`: `STORAGE:SIZE` allocates a disk of SIZE GiB,
        `STORAGE:cloudinit` a cloud-init drive; other volumes are kept as given."""
        self.online_blade(node, now)
        params = dict(params)
        if "archive" in params:
            raise PveError("restoring a backup archive is not simulated by the lab", 501)
        start, ha_managed = (_true(params.pop(k, "0")) for k in ("start", "ha-managed"))
        default = params.pop("storage", None)
        for key in ("pool", "unique", "force", "bwlimit", "live-restore"):
            params.pop(key, None)  # restore and pool options: nothing to do in the lab
        if "sshkeys" in params:
            validate_ssh_public_keys(params["sshkeys"])
        self.require_quorum(now)
        for key, value in params.items():  # check_storage_access, for each disk to allocate
            new = _NEW_DISK.fullmatch(value.split(",")[0]) if DRIVE.fullmatch(key) else None
            if new and "media=cdrom" not in value:
                if not (new[1] or default):
                    raise PveError("no storage ID specified (and no default storage)")
                self.storage_for_images(new[1] or str(default))
        if vmid in self.vms:
            raise PveError(f"unable to create VM {vmid} - VM {vmid} already exists on node "
                           f"'{self.vms[vmid].node}'")
        vm = Vm(vmid=vmid, name=params.pop("name", f"VM{vmid}"), node=node,
                cores=int(params.pop("cores", "1")),
                memory=int(params.pop("memory", "512").removeprefix("current=").split(",")[0]) * MIB,
                disks=[], agent=_true(params.pop("agent", "0").removeprefix("enabled=").split(",")[0]),
                lock="create")
        self.vms[vmid] = vm

        def create(task: Task, end: float) -> None:
            try:
                self._create_devices(vm, params, default, task)
            except PveError as exc:
                raise PveError(f"unable to create VM {vmid} - {exc.message}") from None
            vm.lock = None
            try:  # qemu-server only warns when these fail: the VM exists, the task is OK
                if ha_managed:
                    task.write("Add as HA resource")
                    self.ha_resource_create(vm.sid, end, "started" if start else "stopped")
                elif start:
                    task.write("Execute autostart")
                    self.qemu_power_on(vm, end, task)
            except PveError as exc:
                task.write(exc.message)

        def failed() -> None:
            if vm.lock == "create":
                self.vms.pop(vmid, None)

        return self.run_task(node, "qmcreate", vmid, now, 2, create, user=user, cleanup=failed).upid

    def _create_devices(self, vm: Vm, params: dict[str, str], default: str | None, task: Task) -> None:
        index = 0
        for key in sorted(params):
            value = params[key]
            volume, _, opts = value.partition(",")
            new = _NEW_DISK.fullmatch(volume) if DRIVE.fullmatch(key) else None
            if DRIVE.fullmatch(key) and volume.endswith(":cloudinit"):
                vm.config[key] = self.cloudinit_attach(vm, key, volume.split(":")[0])
            elif new and "media=cdrom" not in opts:
                sid, size = new[1] or str(default), new[2]
                disk = Disk(key, sid, f"vm-{vm.vmid}-disk-{index}", int(float(size) * GIB))
                index += 1
                vm.disks.append(disk)
                task.write(f"{key}: successfully created disk '{sid}:{disk.volume},size={size}G'")
            elif re.fullmatch(r"net\d+", key) and volume in _NET_MODELS:
                vm.config[key] = f"{volume}={mac_for(vm.vmid)}" + (f",{opts}" if opts else "")
            else:
                self._set(vm, key, value)
        disks = [d.key for d in vm.disks]
        cdroms = sorted(k for k, v in vm.config.items() if DRIVE.fullmatch(k) and "media=cdrom" in v)
        nets = sorted(k for k in vm.config if re.fullmatch(r"net\d+", k))
        vm.config.setdefault("boot", "order=" + ";".join([*disks, *cdroms, *nets]))
        vm.config.setdefault("smbios1", f"uuid={uuid_for(vm.vmid)}")
        vm.config.setdefault("vmgenid", uuid_for(-vm.vmid))
        vm.config.setdefault("meta", f"creation-qemu=10.0.2,ctime={int(self.now)}")

    # --- template ---------------------------------------------------------------------------------
    def qemu_template(self, node: str, vmid: int, now: float, disk: str | None = None,
                      user: str = ROOT) -> str:
        """`POST .../template`: a stopped guest's disks become base images, for linked clones."""
        vm = self.vm_on(node, vmid, now)

        def check() -> None:
            self.check_lock(vm)
            if vm.template and not disk:
                raise PveError("you can't convert a template to a template")
            if vm.running():
                raise PveError("you can't convert a VM to template if VM is running")

        check()

        def convert(task: Task, end: float) -> None:
            check()
            vm.template = True
            for d in vm.disks:
                if (disk is None or d.key == disk) and d.volume.startswith("vm-"):
                    d.volume = "base-" + d.volume.removeprefix("vm-")

        return self.run_task(node, "qmtemplate", vmid, now, 1, convert, user=user).upid
