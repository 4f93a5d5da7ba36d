"""What `GET .../status/current` adds for a running guest from QMP and /proc, as qemu-server's
`vmstatus(full => 1)` collects it: `ballooninfo` (query-balloon), `blockstat` per drive
(query-blockstats), `nics` per tap device (/proc/net/dev) and `proxmox-support`
(query-proxmox-support of pve-qemu 10). The counters grow with the guest's uptime.
"""

from __future__ import annotations

import re
from typing import Any

from lab.pve.objects import Vm

# pve-qemu-kvm 10's answer to query-proxmox-support
PROXMOX_SUPPORT = {"pbs-dirty-bitmap": True, "pbs-dirty-bitmap-savevm": True, "query-bitmap-info": True,
                   "pbs-masterkey": True, "backup-fleecing": True, "backup-max-workers": True,
                   "pbs-dirty-bitmap-migration": True, "pbs-library-version": "1.5.2 (UNKNOWN)"}
_DRIVE = re.compile(r"(ide|sata|scsi|virtio|efidisk|tpmstate)\d+")
_NET = re.compile(r"net(\d+)")


def _blockstat(uptime: int, busy: bool) -> dict[str, Any]:
    ops = uptime * (3 if busy else 0)
    stat: dict[str, Any] = {
        "rd_bytes": ops * 4096, "wr_bytes": ops * 2 * 4096, "rd_operations": ops, "wr_operations": ops * 2,
        "flush_operations": ops // 10, "unmap_operations": 0, "unmap_bytes": 0,
        "rd_total_time_ns": ops * 50_000, "wr_total_time_ns": ops * 400_000,
        "flush_total_time_ns": ops * 4_000, "unmap_total_time_ns": 0, "idle_time_ns": 1_500_000_000,
        "wr_highest_offset": ops * 8192, "rd_merged": 0, "wr_merged": 0, "unmap_merged": 0,
        "account_invalid": True, "account_failed": True, "timed_stats": [],
    }
    for kind in ("rd", "wr", "flush", "unmap"):
        stat[f"failed_{kind}_operations"] = 0
        stat[f"invalid_{kind}_operations"] = 0
    return stat


def running_stats(vm: Vm, now: float) -> dict[str, Any]:
    """The QMP and /proc parts of a running guest's full status."""
    uptime = int(now - vm.started_at)
    free = int(vm.memory * 0.4)
    drives = sorted(k for k in {*vm.config, *(d.key for d in vm.disks)} if _DRIVE.fullmatch(k))
    nics = sorted(int(m[1]) for k in vm.config if (m := _NET.fullmatch(k)))
    traffic = uptime * 1500
    return {
        "ballooninfo": {"actual": vm.memory, "max_mem": vm.memory, "total_mem": vm.memory - 64 * 2**20,
                        "free_mem": free, "mem_swapped_in": 0, "mem_swapped_out": 0,
                        "major_page_faults": 1200, "minor_page_faults": uptime * 20,
                        "last_update": int(now)},
        "blockstat": {d: _blockstat(uptime, d.startswith("scsi")) for d in drives},
        "nics": {f"tap{vm.vmid}i{n}": {"netin": traffic * 4, "netout": traffic} for n in nics},
        "proxmox-support": dict(PROXMOX_SUPPORT),
    }
