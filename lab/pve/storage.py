"""Storages: `GET /nodes/{node}/storage` and `.../storage/{storage}/status`, and the checks
clone and create make against /etc/pve/storage.cfg (pve-storage's wording).

The cluster has what a fresh PVE install plus `pveceph pool create --add_storages` gives:
`local` (a directory on each blade's system disk: ISO images, templates, backups),
`local-lvm` (an LVM thin pool beside it: guest disks, not shared) and the scenario's RBD
storage on the Ceph pool (guest disks, shared).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.pve.base import PveState
from lab.pve.domain import ParamError, PveError
from lab.pve.objects import GIB

LOCAL_DIR = 100 * GIB  # the blade's system disk (nodes.ROOTFS)
LOCAL_LVM = 60 * GIB  # the thin pool beside it
CEPH_RAW_PER_BLADE = 1000 * GIB  # as cluster resources count it: raw space over 3 replicas


@dataclass(frozen=True)
class Storage:
    storage: str
    type: str
    content: tuple[str, ...]
    shared: bool
    formats: tuple[str, ...] = ("raw",)  # the plugin's valid image formats; raw is every default

    def content_text(self) -> str:
        return ",".join(sorted(self.content))


class StorageApi(PveState):
    def storages(self) -> dict[str, Storage]:
        """storage.cfg, in its order."""
        return {s.storage: s for s in (
            Storage("local", "dir", ("backup", "iso", "vztmpl"), False, ("qcow2", "raw", "subvol", "vmdk")),
            Storage("local-lvm", "lvmthin", ("images", "rootdir"), False),
            Storage(self.storage, "rbd", ("images",), True),
        )}

    def storage_config(self, storage: str) -> Storage:
        found = self.storages().get(storage)
        if found is None:
            raise PveError(f"storage '{storage}' does not exist")
        return found

    def storage_for_images(self, storage: str, field: str = "storage") -> Storage:
        """An enabled storage that holds guest disks, or PVE's refusal."""
        found = self.storage_config(storage)
        if "images" not in found.content:
            raise ParamError(field, f"storage '{storage}' does not support vm images")
        return found

    def _storage_usage(self, store: Storage, node: str) -> tuple[int, int]:
        """(total, used) bytes: local ones per blade, the RBD pool cluster-wide."""
        disks = [d for v in self.vms.values() for d in v.disks if d.storage == store.storage
                 and (store.shared or v.node == node)]
        if store.type == "rbd":
            return CEPH_RAW_PER_BLADE * len(self.blades) // 3, sum(d.size for d in disks)
        if store.type == "lvmthin":
            return LOCAL_LVM, sum(d.size for d in disks)
        return LOCAL_DIR, int(LOCAL_DIR * 0.03)

    def _storage_status(self, store: Storage, node: str) -> dict[str, Any]:
        total, used = self._storage_usage(store, node)
        return {"type": store.type, "content": store.content_text(), "shared": int(store.shared),
                "active": 1, "enabled": 1, "total": total, "used": used, "avail": total - used}

    def node_storage_index(self, node: str, now: float, content: str | None = None,
                           storage: str | None = None, target: str | None = None,
                           formats: bool = False) -> list[dict[str, Any]]:
        """`GET /nodes/{node}/storage`, filtered as pve-storage filters it (every storage is
        enabled, so `enabled=1` changes nothing)."""
        self.online_blade(node, now)
        wanted = set(content.replace(";", ",").replace(" ", ",").split(",")) - {""} if content else None
        stores = {sid: s for sid, s in self.storages().items()
                  if wanted is None or wanted & set(s.content)}
        if storage and storage not in stores:
            raise ParamError("storage", "No such storage.")
        if target == node:
            target = None
        out = []
        for sid, store in stores.items():
            if (storage and sid != storage) or (target and not store.shared):
                continue
            entry = {"storage": sid, **self._storage_status(store, node)}
            entry["used_fraction"] = entry["used"] / entry["total"]
            if formats:  # `format` (a [valid, default] pair) is the deprecated spelling PVE 9 still sends
                entry["formats"] = {"supported": list(store.formats), "default": "raw"}
                entry["format"] = [{f: 1 for f in store.formats}, "raw"]
            out.append(entry)
        return out

    def node_storage_status(self, node: str, storage: str, now: float) -> dict[str, Any]:
        self.online_blade(node, now)
        store = self.storages().get(storage)
        if store is None:
            raise ParamError("storage", "No such storage.")
        return self._storage_status(store, node)
